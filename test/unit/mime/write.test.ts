// The MIME writer and the transfer encoders (RFC 2045 §6, RFC 2046 §5.1): whatever goes in as a
// leaf's content is what the structure parser and decoders read back, byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import {
  decodeBase64,
  decodeQuotedPrintable,
  decodeTransfer,
  encodeBase64,
  encodeQuotedPrintable,
} from '../../../src/mail/mime/transfer.ts';
import type { MimePart } from '../../../src/mail/mime/types.ts';
import { type MimeEntity, transferEncode, writeMessage } from '../../../src/mail/mime/write.ts';
import { prng } from './corpus.ts';

/** Bytes biased towards what breaks encoders: CR, LF, space, tab, '=', '-', high octets. */
function nastyBytes(random: () => number, length: number): Buffer {
  const alphabet = [0x0d, 0x0a, 0x20, 0x09, 0x3d, 0x2d, 0x2e, 0x00, 0xff, 0xc3, 0xa9, 0x41, 0x7a];
  return Buffer.from(
    Array.from({ length }, () => (random() < 0.6 ? alphabet[Math.floor(random() * alphabet.length)]! : Math.floor(random() * 256))),
  );
}

function leaves(part: MimePart): MimePart[] {
  return part.children.length ? part.children.flatMap(leaves) : [part];
}

describe('transfer encoders (RFC 2045 §6.7, §6.8)', () => {
  it('quoted-printable decodes to the input for edge cases', () => {
    const cases = [
      '',
      'Hello there',
      'a\rb',
      'a\nb',
      'x \r\ny\t\r\n',
      'ends in space ',
      'ends in tab\t',
      '=',
      '=\r\n',
      'é'.repeat(60),
      'y'.repeat(300),
    ];
    for (const c of cases) {
      const input = Buffer.from(c, 'utf8');
      const encoded = encodeQuotedPrintable(input);
      assert.deepEqual(decodeQuotedPrintable(encoded), input, JSON.stringify(c));
      for (const line of encoded.toString('latin1').split('\r\n')) assert.ok(line.length <= 76, `line too long: ${line}`);
      assert.doesNotMatch(encoded.toString('latin1'), /[ \t]\r\n|[ \t]$|(^|[^\r])\n|\r(?!\n)/, JSON.stringify(c));
    }
  });

  it('quoted-printable and base64 round trips over seeded random bytes', () => {
    const random = prng(0x5eed);
    for (let i = 0; i < 300; i++) {
      const input = nastyBytes(random, Math.floor(random() * 400));
      assert.deepEqual(decodeQuotedPrintable(encodeQuotedPrintable(input)), input, `qp #${i}`);
      assert.deepEqual(decodeBase64(encodeBase64(input)), input, `base64 #${i}`);
    }
  });

  it('picks 7bit only for 7bit lines, message/* never base64, mostly-ASCII text quoted-printable', () => {
    assert.equal(transferEncode('text/plain', Buffer.from('a\r\nb')).encoding, '7bit');
    assert.equal(transferEncode('text/plain', Buffer.from('a\nb')).encoding, 'quoted-printable');
    assert.equal(transferEncode('text/plain', Buffer.from('x'.repeat(999))).encoding, 'quoted-printable');
    assert.equal(transferEncode('text/plain', Buffer.from([0xff, 0xfe, 0, 1, 2])).encoding, 'base64');
    assert.equal(transferEncode('image/png', Buffer.from([0x89, 0x50])).encoding, 'base64');
    assert.equal(transferEncode('message/rfc822', Buffer.from('Subject: é\r\n\r\nx\r\n')).encoding, '8bit');
    assert.equal(transferEncode('message/rfc822', Buffer.from('a\nb')).encoding, 'binary');
  });
});

describe('MIME writer (RFC 2046 §5.1.1)', () => {
  it('a single-part message ends where its content ends', () => {
    const raw = writeMessage([['Subject', 'x']], { type: 'text/plain', content: Buffer.from('this is a text part') });
    assert.ok(raw.toString().endsWith('\r\n\r\nthis is a text part'), JSON.stringify(raw.toString()));
  });

  it('every leaf of a nested tree reads back byte for byte (seeded)', () => {
    const random = prng(20261207);
    for (let round = 0; round < 40; round++) {
      const contents: Buffer[] = [];
      const types = ['text/plain', 'text/html', 'application/octet-stream', 'image/png', 'message/rfc822'];
      const tree = (depth: number): MimeEntity => {
        if (depth < 3 && random() < 0.4) {
          const n = 1 + Math.floor(random() * 3);
          return { type: 'multipart/mixed', content: Array.from({ length: n }, () => tree(depth + 1)) };
        }
        const content =
          random() < 0.3 ? Buffer.from('plain 7bit line\r\n--looks like a boundary\r\n') : nastyBytes(random, Math.floor(random() * 300));
        contents.push(content);
        return { type: types[Math.floor(random() * types.length)]!, content };
      };
      const root = tree(0);
      const raw = writeMessage([['Subject', `round ${round}`]], root);
      const parsed = parseMessage(raw);
      const got = leaves(parsed.root).map((p) => decodeTransfer(raw.subarray(p.bodyStart, p.bodyEnd), p.encoding));
      assert.deepEqual(got, contents, `round ${round}`);
    }
  });
});
