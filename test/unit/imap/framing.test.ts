// IMAP commands through the shared line input (net/line-input.ts): framing, literals,
// continuation requests, limits and resynchronisation, whole and split byte by byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CommandResult, LineInput, type LiteralLimits } from '../../../src/net/line-input.ts';
import { peekTagAndCommand } from '../../../src/protocols/imap/wire/parser.ts';

const LIMITS = { maxLine: 100, maxLiteral: 50, maxAppendLiteral: 1000, maxCommand: 2000 };
type Limits = typeof LIMITS & { maxNonSync?: number };

/** The session's rule: APPEND and REPLACE get the APPENDLIMIT once signed in, anything else the literal bound. */
function literalLimits(limits: Limits, signedIn: boolean): LiteralLimits {
  return {
    maxLine: limits.maxLine,
    maxCommand: limits.maxCommand,
    ...(limits.maxNonSync === undefined ? {} : { maxNonSync: limits.maxNonSync }),
    literalLimit: (first) => {
      const { command } = peekTagAndCommand(first);
      return signedIn && (command === 'APPEND' || command?.endsWith('REPLACE')) ? limits.maxAppendLiteral : limits.maxLiteral;
    },
  };
}

type Event = CommandResult | { kind: 'continue' };

/** Reads commands until the input is closed and drained, noting each continuation request. */
async function readAll(input: LineInput, limits: LiteralLimits): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const r = await input.command(limits, () => out.push({ kind: 'continue' }));
    if (r.kind === 'closed') return out;
    out.push(r);
  }
}

async function feed(input: string | Buffer, limits: Limits = LIMITS, byteByByte = false, signedIn = true): Promise<Event[]> {
  const li = new LineInput();
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1');
  const done = readAll(li, literalLimits(limits, signedIn));
  if (byteByByte) {
    for (let i = 0; i < buf.length; i++) {
      li.push(buf.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
  } else li.push(buf);
  li.close();
  return done;
}

const summary = (events: Event[]) =>
  events.map((e) => {
    if (e.kind === 'command')
      return `cmd:${e.lines.map((l) => l.toString('latin1')).join('|')}#${e.literals.map((l) => l.data.toString('latin1')).join('|')}`;
    if (e.kind === 'error') {
      const { tag, command } = peekTagAndCommand(e.first);
      return `err:${tag}:${e.reason}:${command}`;
    }
    return e.kind;
  });

describe('IMAP command framing on the shared line input', () => {
  it('frames CRLF and bare-LF lines', async () => {
    assert.deepEqual(summary(await feed('a NOOP\r\nb CAPABILITY\n')), ['cmd:a NOOP#', 'cmd:b CAPABILITY#']);
  });

  it('asks for a continuation before a synchronizing literal and resumes after it', async () => {
    const input = 'a LOGIN {5}\r\nalice {6}\r\nsecret\r\n';
    for (const byteByByte of [false, true]) {
      assert.deepEqual(summary(await feed(input, LIMITS, byteByByte)), ['continue', 'continue', 'cmd:a LOGIN {5}| {6}|#alice|secret']);
    }
  });

  it('LITERAL+ and literal8 need no continuation', async () => {
    assert.deepEqual(summary(await feed('a APPEND INBOX {3+}\r\nabc\r\n')), ['cmd:a APPEND INBOX {3+}|#abc']);
    const e = await feed('a APPEND INBOX ~{3+}\r\na\x00c\r\n');
    assert.equal(e[0]!.kind, 'command');
    assert.equal(e[0]!.kind === 'command' && e[0]!.literals[0]!.binary, true);
  });

  it('a literal may contain CRLF and braces', async () => {
    assert.deepEqual(summary(await feed('a APPEND x {7+}\r\n{1}\r\n\r\n\r\n')), ['cmd:a APPEND x {7+}|#{1}\r\n\r\n']);
  });

  it('zero-length literals', async () => {
    assert.deepEqual(summary(await feed('a LOGIN {0}\r\n {0+}\r\n\r\n')), ['continue', 'cmd:a LOGIN {0}| {0+}|#|']);
  });

  it('refuses an oversized synchronizing literal before its bytes and resynchronises', async () => {
    assert.deepEqual(summary(await feed('a LOGIN {51}\r\nb NOOP\r\n')), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
    // APPEND has its own (larger) limit.
    assert.deepEqual(summary(await feed('a APPEND INBOX {51}\r\n')), ['continue']);
    assert.deepEqual(summary(await feed('a APPEND INBOX {1001}\r\n')), ['err:a:literal_too_big:APPEND']);
    assert.deepEqual(summary(await feed('t UID APPEND x {99999999999999999999}\r\n')), ['err:t:literal_too_big:UID APPEND']);
  });

  it('before sign-in, APPEND literals get the small literal limit, not the APPENDLIMIT', async () => {
    assert.deepEqual(summary(await feed('a APPEND INBOX {51}\r\nb NOOP\r\n', LIMITS, false, false)), [
      'err:a:literal_too_big:APPEND',
      'cmd:b NOOP#',
    ]);
    // Non-synchronizing: the bytes are skipped, never buffered or run as commands.
    const smuggled = 'x DELETE INBOX\r\n'.repeat(10);
    assert.deepEqual(summary(await feed(`a APPEND INBOX {${smuggled.length}+}\r\n${smuggled}\r\nb NOOP\r\n`, LIMITS, true, false)), [
      'err:a:literal_too_big:APPEND',
      'cmd:b NOOP#',
    ]);
    assert.deepEqual(summary(await feed('a APPEND INBOX {50}\r\n', LIMITS, false, false)), ['continue']);
  });

  it('skips the bytes of an oversized non-synchronizing literal so they are never commands', async () => {
    const smuggled = 'x DELETE INBOX\r\n'.repeat(4);
    const input = `a LOGIN {${smuggled.length}+}\r\n${smuggled} more\r\nb NOOP\r\n`;
    assert.deepEqual(summary(await feed(input)), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
    assert.deepEqual(summary(await feed(input, LIMITS, true)), ['err:a:literal_too_big:LOGIN', 'cmd:b NOOP#']);
  });

  it('a line over the limit is skipped to its end, with its non-synchronizing literal', async () => {
    const long = `a SEARCH ${'X'.repeat(150)} {10+}\r\n0123456789\r\nb NOOP\r\n`;
    assert.deepEqual(summary(await feed(long)), ['err:a:line_too_long:SEARCH', 'cmd:b NOOP#']);
    assert.deepEqual(summary(await feed(long, LIMITS, true)), ['err:a:line_too_long:SEARCH', 'cmd:b NOOP#']);
  });

  it('the whole command is bounded, not only each literal', async () => {
    const parts = Array.from({ length: 60 }, () => '{40+}\r\n' + 'y'.repeat(40) + ' ').join('');
    const events = summary(await feed(`a LOGIN ${parts}\r\nb NOOP\r\n`));
    assert.equal(events[0], 'err:a:literal_too_big:LOGIN');
    assert.equal(events.at(-1), 'cmd:b NOOP#');
  });

  it('under LITERAL- a non-synchronizing literal over the bound is refused at once and its bytes skipped', async () => {
    const limits = { ...LIMITS, maxLiteral: 10_000, maxNonSync: 4096 };
    const smuggled = 'x DELETE INBOX\r\n'.repeat(300);
    for (const byteByByte of [false, true]) {
      const events = summary(await feed(`a LOGIN {${smuggled.length}+}\r\n${smuggled} more\r\nb NOOP\r\n`, limits, byteByByte));
      assert.deepEqual(events, ['err:a:nonsync_too_big:LOGIN', 'cmd:b NOOP#']);
    }
  });

  it('the refusal comes before the skipped bytes arrive: a client that never sends them still gets its answer', async () => {
    const li = new LineInput();
    li.push(Buffer.from('a LOGIN {99999999+}\r\n'));
    const r = await li.command(literalLimits(LIMITS, true), () => {});
    assert.equal(r.kind, 'error');
    li.push(Buffer.from('b NOOP\r\n'.repeat(3)));
    li.close();
    assert.deepEqual(summary(await readAll(li, literalLimits(LIMITS, true))), [], 'the bytes after it belong to the literal');
  });

  it('raw lines (AUTHENTICATE responses, DONE) between commands', async () => {
    const li = new LineInput();
    li.push(Buffer.from(`a IDLE\r\nDONE {5}\r\n${'x'.repeat(150)}\r\nb NOOP\r\n`));
    const limits = literalLimits(LIMITS, true);
    assert.deepEqual(summary([await li.command(limits, () => {})]), ['cmd:a IDLE#']);
    const done = await li.rawLine(LIMITS.maxLine + 2);
    assert.equal(done.kind === 'line' && done.bytes.toString(), 'DONE {5}', 'a raw line announces no literal');
    const long = await li.rawLine(LIMITS.maxLine + 2);
    assert.equal(long.kind, 'too_long');
    assert.deepEqual(summary([await li.command(limits, () => {})]), ['cmd:b NOOP#']);
  });

  it('discard drops pipelined bytes (STARTTLS injection defence)', async () => {
    const li = new LineInput();
    li.push(Buffer.from('a STARTTLS\r\nb LOGIN evil pass\r\n'));
    assert.equal((await li.command(literalLimits(LIMITS, true), () => {})).kind, 'command');
    li.discard();
    assert.equal(li.pending, 0);
    li.close();
    assert.equal((await li.command(literalLimits(LIMITS, true), () => {})).kind, 'closed');
  });
});
