import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DataResult, LineInput } from '../../../src/net/line-input.ts';

/** Reads a DATA body into memory (a test sink standing in for the spool file), keeping the pieces. */
async function body(b: LineInput, max: number): Promise<DataResult & { body: Buffer; pieces: number }> {
  const pieces: Buffer[] = [];
  const r = await b.data(max, async (bytes) => {
    pieces.push(Buffer.from(bytes));
  });
  return { ...r, body: Buffer.concat(pieces), pieces: pieces.length };
}

/** Feeds `chunks` one by one (as a socket would) while `read` runs. */
async function feed<T>(chunks: string[], read: (b: LineInput) => Promise<T>): Promise<T> {
  const b = new LineInput();
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
    const r = await feed(['Subject: x\r\n\r\n..dot\r\n.', '\r\nNOOP\r\n'], (b) => body(b, 1000));
    assert.equal(r.kind, 'data');
    if (r.kind !== 'data') return;
    assert.equal(r.body.toString(), 'Subject: x\r\n\r\n.dot\r\n');
    assert.equal(r.bareLf, false);
  });

  it('splitting the end marker over chunks does not matter', async () => {
    for (const split of [['a\r\n', '.', '\r', '\n'], ['a\r', '\n.\r', '\n'], ['a\r\n.\r\n']]) {
      const r = await feed(split, (b) => body(b, 1000));
      assert.ok(r.kind === 'data' && r.body.toString() === 'a\r\n', JSON.stringify(split));
    }
  });

  it('LF.LF, LF.CRLF and CR.CR do not end the message (SMTP smuggling); the bare LF is reported', async () => {
    const r = await feed(['a\n.\nMAIL FROM:<x@y>\r\n', 'b\n.\r\nRCPT TO:<z@y>\r\n', 'c\r.\r', '\r\n.\r\n'], (b) => body(b, 1000));
    assert.ok(r.kind === 'data');
    if (r.kind !== 'data') return;
    assert.equal(r.bareLf, true);
    assert.match(r.body.toString('latin1'), /MAIL FROM:<x@y>\r\nb\n\.\r\nRCPT TO:<z@y>\r\nc\r\.\r\r\n$/);
  });

  it('an oversized body is consumed to the end and reported, not kept', async () => {
    const b = new LineInput();
    const r = body(b, 100);
    b.push(Buffer.from(`${'x'.repeat(80)}\r\n`.repeat(10)));
    b.push(Buffer.from(`${'y'.repeat(20000)}\r\n.\r\nQUIT\r\n`));
    const got = await r;
    assert.ok(got.kind === 'data' && got.tooBig && got.body.length === 0);
    const next = await b.line(512);
    assert.deepEqual(next, { kind: 'line', text: 'QUIT' });
  });

  it('hands the body on as it arrives: nothing waits in memory for the end marker', async () => {
    const b = new LineInput();
    const got: string[] = [];
    const done = b.data(1_000_000, async (bytes) => {
      got.push(bytes.toString('latin1'));
    });
    b.push(Buffer.from('Subject: streamed\r\n\r\nfirst half\r\n'));
    for (let i = 0; i < 10 && got.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['Subject: streamed\r\n\r\nfirst half\r\n'], 'the first batch reached the sink before the rest was sent');
    assert.equal(b.pending, 0, 'and is no longer buffered');
    b.push(Buffer.from('..second half\r\n.\r\n'));
    const r = await done;
    assert.deepEqual(r, { kind: 'data', size: 47, tooBig: false, bareLf: false });
    assert.equal(got.join(''), 'Subject: streamed\r\n\r\nfirst half\r\n.second half\r\n');
  });

  it('a dot or a CR at the edge of a batch is judged with the bytes that follow', async () => {
    const r = await feed(['a\r\n', '.', '.b\r', '\n', '.', '\r', '\n'], (b) => body(b, 1000));
    assert.ok(r.kind === 'data');
    assert.equal(r.body.toString(), 'a\r\n.b\r\n');
    assert.equal(r.bareLf, false);
    const lf = await feed(['a\r\n', '\nb\r\n.\r\n'], (b) => body(b, 1000));
    assert.ok(lf.kind === 'data' && lf.bareLf, 'an empty line ending in a bare LF at the start of a batch');
  });

  it('one piece per batch of input, however many lines it holds (a 50 MB body of tiny lines)', async () => {
    const b = new LineInput();
    const r = body(b, 50 * 1024 * 1024);
    const batch = Buffer.from('x\r\n'.repeat(64 * 1024));
    let batches = 0;
    for (let sent = 0; sent + batch.length <= 50 * 1024 * 1024 - 5; sent += batch.length) {
      b.push(batch);
      batches++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    b.push(Buffer.from('.\r\n'));
    const got = await r;
    assert.ok(got.kind === 'data' && !got.tooBig);
    assert.equal(got.size, batches * batch.length);
    assert.ok(got.pieces <= batches, `${got.pieces} pieces for ${batches} batches`);
  });

  it('a connection closed in the middle is reported as closed', async () => {
    const r = await feed(['partial body\r\n'], (b) => body(b, 1000));
    assert.equal(r.kind, 'closed');
  });
});

describe('SMTP input: command lines and BDAT', () => {
  it('reads CRLF and bare-LF command lines; an overlong line is skipped to its end', async () => {
    const b = new LineInput();
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
    const chunk: Buffer[] = [];
    const r = await feed(['abc\r\n.\r', '\nrest\r\n'], async (b) => [
      await b.bytes(8, async (bytes) => {
        chunk.push(Buffer.from(bytes));
      }),
      await b.line(100),
    ]);
    assert.deepEqual(r, [true, { kind: 'line', text: 'rest' }]);
    assert.equal(Buffer.concat(chunk).toString(), 'abc\r\n.\r\n');
  });

  it('chunks received in one turn are handed on as they came, never joined for a byte count', async () => {
    const b = new LineInput();
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1000, i));
    for (const c of chunks) b.push(c);
    assert.equal(b.pending, 200_000);
    const pieces: Buffer[] = [];
    assert.equal(await b.bytes(150_500, async (p) => void pieces.push(p)), true);
    assert.equal(pieces.length, 151, 'one piece per chunk received');
    assert.ok(Buffer.concat(pieces).equals(Buffer.concat(chunks).subarray(0, 150_500)));
    b.push(Buffer.from('\r\nNOOP\r\n'));
    assert.equal((await b.line(100_000)).kind, 'line', 'the rest of the last chunk and the next one read as a line');
    assert.deepEqual(await b.line(100), { kind: 'line', text: 'NOOP' });
  });

  it('discard() drops what was pipelined (STARTTLS injection defence)', async () => {
    const b = new LineInput();
    b.push(Buffer.from('MAIL FROM:<evil@x>\r\n'));
    b.discard();
    assert.equal(b.pending, 0);
    b.push(Buffer.from('NOOP\r\n'));
    assert.deepEqual(await b.line(100), { kind: 'line', text: 'NOOP' });
  });
});
