// A bounded, seeded fuzz run of the MIME parser: mutated real-world messages never make it throw,
// and every part's offsets stay inside its parent and in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage, searchText } from '../../../src/mail/mime/parse.ts';
import type { MimePart } from '../../../src/mail/mime/types.ts';
import { CORPUS, prng } from './corpus.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261102);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1500);

const INSERTS = [
  '\r\n',
  '\n',
  '\r',
  '\0',
  '=?utf-8?q?=00?=',
  '--',
  '--b1\r\n',
  '--in--\r\n',
  '------=_Part_1\r\n',
  '\r\n\r\n',
  ':',
  '=?',
  '"',
  '(',
  '<',
  ';',
].map((s) => Buffer.from(s));
const HEADERS = [
  'Content-Type: multipart/mixed; boundary=b1\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Type: multipart/alternative; boundary=""\r\n',
  "Content-Type: text/plain; name*0*=utf-8''%E2%00; name*1=x\r\n",
  'Content-Transfer-Encoding: base64\r\n',
  'From: a:b:c;;<<@@>>,,\r\n',
].map((s) => Buffer.from(s));

function mutate(raw: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(raw);
  const n = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (b.length + 1));
    const op = Math.floor(rnd() * 6);
    if (op === 0 && b.length) b[Math.min(at, b.length - 1)] = Math.floor(rnd() * 256);
    else if (op === 1) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + Math.floor(rnd() * 40)))]);
    else if (op === 2) b = Buffer.concat([b.subarray(0, at), INSERTS[Math.floor(rnd() * INSERTS.length)]!, b.subarray(at)]);
    else if (op === 3) b = Buffer.concat([b.subarray(0, at), HEADERS[Math.floor(rnd() * HEADERS.length)]!, b.subarray(at)]);
    else if (op === 4) b = Buffer.concat([b.subarray(0, at), b.subarray(0, Math.floor(rnd() * b.length)), b.subarray(at)]);
    else b = b.subarray(0, at);
  }
  return b;
}

function check(p: MimePart, lo: number, hi: number, where: string): void {
  assert.ok(lo <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= hi, `${where}: offsets`);
  assert.ok(p.lines >= 0, `${where}: lines`);
  assert.ok(p.type.length > 0 && p.subtype.length > 0, `${where}: type`);
  if (p.type === 'multipart') assert.ok(p.children.length > 0, `${where}: multipart without children`);
  let prev = p.bodyStart;
  for (const c of p.children) {
    check(c, prev, p.bodyEnd, `${where}/${c.path}`);
    prev = c.bodyEnd;
  }
  if (p.message) check(p.message.root, p.bodyStart, p.bodyEnd, `${where}/msg`);
}

describe('MIME parser fuzz', () => {
  it(`${ROUNDS} mutated messages (seed ${SEED}) parse with consistent offsets`, () => {
    const rnd = prng(SEED);
    for (let round = 0; round < ROUNDS; round++) {
      const raw = mutate(CORPUS[round % CORPUS.length]!, rnd);
      try {
        const m = parseMessage(raw);
        check(m.root, 0, raw.length, 'root');
        assert.equal(m.root.headerStart, 0);
        assert.ok([...m.preview].length <= 256);
        const json = JSON.stringify(m);
        const text = searchText(raw, m);
        // NUL may appear in bodies but never in anything that becomes an IMAP string or database text.
        assert.ok(!json.includes('\\u0000') && !text.headers.includes('\0') && !text.body.includes('\0'), 'NUL leaked');
      } catch (err) {
        throw new Error(`round ${round} (seed ${SEED}) input ${JSON.stringify(raw.toString('latin1'))}: ${(err as Error).message}`);
      }
    }
  });

  it('deep nesting and many parts stay bounded', () => {
    const open = Array.from({ length: 200 }, (_, i) => `Content-Type: multipart/mixed; boundary=d${i}\r\n\r\n--d${i}\r\n`).join('');
    const deep = parseMessage(Buffer.from(open + 'x'));
    let depth = 0;
    for (let p: MimePart | undefined = deep.root; p; p = p.children[0]) depth++;
    assert.ok(depth <= 42);
    const many = 'Content-Type: multipart/mixed; boundary=m\r\n\r\n' + '--m\r\n\r\nx\r\n'.repeat(5000) + '--m--\r\n';
    const wide = parseMessage(Buffer.from(many));
    assert.ok(wide.root.children.length < 2100 && wide.root.children.length > 1000);
  });
});
