// The resumable command reader: framing, literals, continuation requests, limits and resync.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandReader, type ReaderEvent } from '../../../src/protocols/imap/wire/reader.ts';

const LIMITS = { maxLine: 100, maxLiteral: 50, maxAppendLiteral: 1000, maxCommand: 2000 };

function drain(r: CommandReader): ReaderEvent[] {
  const out: ReaderEvent[] = [];
  for (let e = r.next(); e; e = r.next()) out.push(e);
  return out;
}

function feed(input: string | Buffer, limits = LIMITS, byteByByte = false, signedIn = true): ReaderEvent[] {
  const r = new CommandReader(limits);
  r.allowAppend(signedIn);
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1');
  const out: ReaderEvent[] = [];
  if (byteByByte) {
    for (let i = 0; i < buf.length; i++) {
      r.push(buf.subarray(i, i + 1));
      out.push(...drain(r));
    }
  } else {
    r.push(buf);
    out.push(...drain(r));
  }
  return out;
}

const summary = (events: ReaderEvent[]) =>
  events.map((e) => {
    if (e.kind === 'command')
      return `cmd:${e.frame.lines.map((l) => l.toString('latin1')).join('|')}#${e.frame.literals.map((l) => l.data.toString('latin1')).join('|')}`;
    if (e.kind === 'error') return `err:${e.tag}:${e.reason}:${e.command}`;
    if (e.kind === 'line') return `line:${e.line.toString('latin1')}`;
    return 'continue';
  });

describe('IMAP command reader', () => {
  it('frames CRLF and bare-LF lines', () => {
    assert.deepEqual(summary(feed('a NOOP\r\nb CAPABILITY\n')), ['cmd:a NOOP#', 'cmd:b CAPABILITY#']);
  });

  it('asks for a continuation before a synchronizing literal and resumes after it', () => {
    const input = 'a LOGIN {5}\r\nalice {6}\r\nsecret\r\n';
    for (const byteByByte of [false, true]) {
      assert.deepEqual(summary(feed(input, LIMITS, byteByByte)), ['continue', 'continue', 'cmd:a LOGIN {5}| {6}|#alice|secret']);
    }
  });

  it('LITERAL+ and literal8 need no continuation', () => {
    assert.deepEqual(summary(feed('a APPEND INBOX {3+}\r\nabc\r\n')), ['cmd:a APPEND INBOX {3+}|#abc']);
    const e = feed('a APPEND INBOX ~{3+}\r\na\x00c\r\n');
    assert.equal(e[0]!.kind, 'command');
    assert.equal(e[0]!.kind === 'command' && e[0]!.frame.literals[0]!.binary, true);
  });

  it('a literal may contain CRLF and braces', () => {
    assert.deepEqual(summary(feed('a APPEND x {7+}\r\n{1}\r\n\r\n\r\n')), ['cmd:a APPEND x {7+}|#{1}\r\n\r\n']);
  });

  it('zero-length literals', () => {
    assert.deepEqual(summary(feed('a LOGIN {0}\r\n {0+}\r\n\r\n')), ['continue', 'cmd:a LOGIN {0}| {0+}|#|']);
  });

  it('refuses an oversized synchronizing literal before its bytes and resynchronises', () => {
    assert.deepEqual(summary(feed('a LOGIN {51}\r\nb NOOP\r\n')), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
    // APPEND has its own (larger) limit.
    assert.deepEqual(summary(feed('a APPEND INBOX {51}\r\n')), ['continue']);
    assert.deepEqual(summary(feed('a APPEND INBOX {1001}\r\n')), ['err:a:literal_too_big:APPEND']);
    assert.deepEqual(summary(feed('t UID APPEND x {99999999999999999999}\r\n')), ['err:t:literal_too_big:UID APPEND']);
  });

  it('before sign-in, APPEND literals get the small literal limit, not the APPENDLIMIT', () => {
    assert.deepEqual(summary(feed('a APPEND INBOX {51}\r\nb NOOP\r\n', LIMITS, false, false)), [
      'err:a:literal_too_big:APPEND',
      'cmd:b NOOP#',
    ]);
    // Non-synchronizing: the bytes are skipped, never buffered or run as commands.
    const smuggled = 'x DELETE INBOX\r\n'.repeat(10);
    assert.deepEqual(summary(feed(`a APPEND INBOX {${smuggled.length}+}\r\n${smuggled}\r\nb NOOP\r\n`, LIMITS, true, false)), [
      'err:a:literal_too_big:APPEND',
      'cmd:b NOOP#',
    ]);
    assert.deepEqual(summary(feed('a APPEND INBOX {50}\r\n', LIMITS, false, false)), ['continue']);
  });

  it('skips the bytes of an oversized non-synchronizing literal so they are never commands', () => {
    const smuggled = 'x DELETE INBOX\r\n'.repeat(4);
    const input = `a LOGIN {${smuggled.length}+}\r\n${smuggled} more\r\nb NOOP\r\n`;
    assert.deepEqual(summary(feed(input)), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
    assert.deepEqual(summary(feed(input, LIMITS, true)), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
  });

  it('a line over the limit is skipped to its end, with its non-synchronizing literal', () => {
    const long = `a SEARCH ${'X'.repeat(150)} {10+}\r\n0123456789\r\nb NOOP\r\n`;
    assert.deepEqual(summary(feed(long)), ['err:a:line_too_long:SEARCH', 'cmd:b NOOP#']);
    assert.deepEqual(summary(feed(long, LIMITS, true)), ['err:a:line_too_long:SEARCH', 'cmd:b NOOP#']);
  });

  it('the whole command is bounded, not only each literal', () => {
    const parts = Array.from({ length: 60 }, () => '{40+}\r\n' + 'y'.repeat(40) + ' ').join('');
    const events = summary(feed(`a LOGIN ${parts}\r\nb NOOP\r\n`));
    assert.equal(events[0], 'err:a:literal_too_big:LOGIN');
    assert.equal(events.at(-1), 'cmd:b NOOP#');
  });

  it('line mode returns raw lines (AUTHENTICATE responses, DONE)', () => {
    const r = new CommandReader(LIMITS);
    r.push(Buffer.from('a IDLE\r\nDONE\r\nb NOOP\r\n'));
    const first = r.next();
    assert.equal(first?.kind, 'command');
    r.setLineMode(true);
    assert.deepEqual(summary([r.next()!]), ['line:DONE']);
    r.setLineMode(false);
    assert.deepEqual(summary([r.next()!]), ['cmd:b NOOP#']);
  });

  it('discard drops pipelined bytes (STARTTLS injection defence)', () => {
    const r = new CommandReader(LIMITS);
    r.push(Buffer.from('a STARTTLS\r\nb LOGIN evil pass\r\n'));
    assert.equal(r.next()?.kind, 'command');
    r.discard();
    assert.equal(r.next(), null);
    assert.equal(r.buffered, 0);
  });
});
