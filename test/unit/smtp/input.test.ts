import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputBuffer } from '../../../src/protocols/smtp/input.ts';

/** Feeds `chunks` one by one (as a socket would) while `read` runs. */
async function feed<T>(chunks: string[], read: (b: InputBuffer) => Promise<T>): Promise<T> {
  const b = new InputBuffer();
  const result = read(b);
  for (const c of chunks) {
    await new Promise((r) => setImmediate(r));
    b.push(Buffer.from(c, 'latin1'));
  }
  b.close();
  return result;
}

describe('SMTP input: DATA (RFC 5321 §4.5.2)', () => {
  it('ends at CRLF.CRLF and removes one leading dot', async () => {
    const r = await feed(['Subject: x\r\n\r\n..dot\r\n.', '\r\nNOOP\r\n'], (b) => b.data(1000));
    assert.equal(r.kind, 'data');
    if (r.kind !== 'data') return;
    assert.equal(r.body.toString(), 'Subject: x\r\n\r\n.dot\r\n');
    assert.equal(r.bareLf, false);
  });

  it('splitting the end marker over chunks does not matter', async () => {
    for (const split of [['a\r\n', '.', '\r', '\n'], ['a\r', '\n.\r', '\n'], ['a\r\n.\r\n']]) {
      const r = await feed(split, (b) => b.data(1000));
      assert.ok(r.kind === 'data' && r.body.toString() === 'a\r\n', JSON.stringify(split));
    }
  });

  it('LF.LF, LF.CRLF and CR.CR do not end the message (SMTP smuggling); the bare LF is reported', async () => {
    const r = await feed(['a\n.\nMAIL FROM:<x@y>\r\n', 'b\n.\r\nRCPT TO:<z@y>\r\n', 'c\r.\r', '\r\n.\r\n'], (b) => b.data(1000));
    assert.ok(r.kind === 'data');
    if (r.kind !== 'data') return;
    assert.equal(r.bareLf, true);
    assert.match(r.body.toString('latin1'), /MAIL FROM:<x@y>\r\nb\n\.\r\nRCPT TO:<z@y>\r\nc\r\.\r\r\n$/);
  });

  it('an oversized body is consumed to the end and reported, not kept', async () => {
    const b = new InputBuffer();
    const r = b.data(100);
    b.push(Buffer.from(`${'x'.repeat(80)}\r\n`.repeat(10)));
    b.push(Buffer.from(`${'y'.repeat(20000)}\r\n.\r\nQUIT\r\n`));
    const got = await r;
    assert.ok(got.kind === 'data' && got.tooBig && got.body.length === 0);
    const next = await b.line(512);
    assert.deepEqual(next, { kind: 'line', text: 'QUIT' });
  });

  it('a connection closed in the middle is reported as closed', async () => {
    const r = await feed(['partial body\r\n'], (b) => b.data(1000));
    assert.equal(r.kind, 'closed');
  });
});

describe('SMTP input: command lines and BDAT', () => {
  it('reads CRLF and bare-LF command lines; an overlong line is skipped to its end', async () => {
    const b = new InputBuffer();
    b.push(Buffer.from(`EHLO a\r\nNOOP\n${'x'.repeat(3000)}\r\nQUIT\r\n`));
    assert.deepEqual(await b.line(1000), { kind: 'line', text: 'EHLO a' });
    assert.deepEqual(await b.line(1000), { kind: 'line', text: 'NOOP' });
    assert.deepEqual(await b.line(1000), { kind: 'too_long' });
    assert.deepEqual(await b.line(1000), { kind: 'line', text: 'QUIT' });
  });

  it('an overlong line arriving in pieces is dropped as it comes', async () => {
    const r = await feed(['x'.repeat(600), 'x'.repeat(600), 'x\r\nNEXT\r\n'], async (b) => [await b.line(512), await b.line(512)]);
    assert.deepEqual(r, [{ kind: 'too_long' }, { kind: 'line', text: 'NEXT' }]);
  });

  it('BDAT reads exact byte counts, whatever the content', async () => {
    const r = await feed(['abc\r\n.\r', '\nrest\r\n'], async (b) => [(await b.bytes(8))?.toString(), await b.line(100)]);
    assert.deepEqual(r, ['abc\r\n.\r\n', { kind: 'line', text: 'rest' }]);
  });

  it('discard() drops what was pipelined (STARTTLS injection defence)', async () => {
    const b = new InputBuffer();
    b.push(Buffer.from('MAIL FROM:<evil@x>\r\n'));
    b.discard();
    assert.equal(b.pending, 0);
    b.push(Buffer.from('NOOP\r\n'));
    assert.deepEqual(await b.line(100), { kind: 'line', text: 'NOOP' });
  });
});
