// Leaf bodies with NUL are re-encoded as base64 (RFC 3516 §4.4, RFC 9051 §4.3): the result parses,
// decodes to the same bytes, keeps every other byte, and holds no NUL outside headers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBinaryParts } from '../../../src/mail/mime/binary-parts.ts';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import { partAt } from '../../../src/mail/mime/structure.ts';
import { decodeTransfer } from '../../../src/mail/mime/transfer.ts';

const BYTES = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0xff, 0, 0x41, 0x0a, 0]);

function leafBytes(raw: Buffer, path: number[]): Buffer {
  const part = path.length ? partAt(parseMessage(raw).root, path)! : parseMessage(raw).root;
  return decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding)!;
}

describe('binary leaf bodies become base64', () => {
  it('leaves a message without NUL in a body alone', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nplain\r\n');
    assert.equal(encodeBinaryParts(raw, parseMessage(raw).root), null);
  });

  it('a single-part message: the body, a folded Content-Transfer-Encoding replaced, MIME-Version added', () => {
    const raw = Buffer.concat([Buffer.from('Subject: x\r\nContent-Transfer-Encoding:\r\n binary\r\nX-After: 1\r\n\r\n'), BYTES]);
    const out = encodeBinaryParts(raw, parseMessage(raw).root)!;
    const text = out.toString('latin1');
    assert.ok(!out.includes(0));
    assert.match(text, /^Subject: x\r\nX-After: 1\r\nMIME-Version: 1\.0\r\nContent-Transfer-Encoding: base64\r\n\r\n/);
    assert.doesNotMatch(text, /binary/);
    assert.deepEqual(leafBytes(out, []), BYTES);
  });

  it('a multipart message: only the part with NUL changes; nested message/rfc822 parts too; LF-only lines', () => {
    const inner = Buffer.concat([Buffer.from('Subject: inner\nContent-Type: application/x-bin\n\n'), BYTES]);
    const raw = Buffer.concat([
      Buffer.from('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nkeep me\n--b\n'),
      Buffer.from('Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n'),
      BYTES,
      Buffer.from('\n--b\nContent-Type: message/rfc822\n\n'),
      inner,
      Buffer.from('\n--b--\n'),
    ]);
    const out = encodeBinaryParts(raw, parseMessage(raw).root)!;
    assert.ok(!out.includes(0));
    const root = parseMessage(out).root;
    assert.equal(root.children.length, 3);
    assert.equal(out.toString('latin1', root.children[0]!.bodyStart, root.children[0]!.bodyEnd), 'keep me');
    assert.deepEqual(leafBytes(out, [2]), BYTES);
    assert.equal(root.children[1]!.encoding, 'BASE64');
    assert.deepEqual(leafBytes(out, [3, 1]), BYTES);
    assert.ok(out.toString('latin1').endsWith('\n--b--\n'));
  });
});
