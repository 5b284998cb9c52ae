// Header parsing work grows linearly with the message, up to the 50 MB message limit. Work is
// counted, not timed: every byte `Buffer#indexOf` examines while the parser runs (the scans a
// quadratic parser repeats), compared with the size of the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FIELD_BYTES, MAX_HEADER_FIELDS, parseHeaderBlock } from '../../../src/mail/mime/headers.ts';
import { parseMessage, searchText } from '../../../src/mail/mime/parse.ts';

const MB = 1024 * 1024;
/** Bytes examined per input byte that linear parsing stays under (a few passes over the input). */
const PASSES = 8;

/** Bytes examined by `Buffer#indexOf` while `run` runs: from the start offset to the match (or the end). */
function scannedBytes(run: () => void): number {
  const original = Buffer.prototype.indexOf;
  let scanned = 0;
  Buffer.prototype.indexOf = function (this: Buffer, ...args: Parameters<Buffer['indexOf']>): number {
    const at = original.apply(this, args);
    const offset = typeof args[1] === 'number' ? args[1] : 0;
    const from = offset < 0 ? Math.max(0, this.length + offset) : Math.min(offset, this.length);
    scanned += (at < 0 ? this.length : at + 1) - from;
    return at;
  };
  try {
    run();
  } finally {
    Buffer.prototype.indexOf = original;
  }
  return scanned;
}

/** Hostile header shapes, each `bytes` long (about). */
const SHAPES: Record<string, (bytes: number) => Buffer> = {
  // The reported one: lines without a colon, so no header ever ends and no field ever starts.
  'lines without a colon': (bytes) => Buffer.from('x\r\n'.repeat(Math.floor(bytes / 3))),
  'one colon at the very end': (bytes) => Buffer.from(`${'x\r\n'.repeat(Math.floor(bytes / 3))}a:b\r\n`),
  'millions of tiny fields': (bytes) => Buffer.from('a: b\r\n'.repeat(Math.floor(bytes / 6))),
  'one field folded millions of times': (bytes) => Buffer.from(`Subject: x\r\n${' y\r\n'.repeat(Math.floor(bytes / 4))}`),
  'bare line feeds': (bytes) => Buffer.from('\n'.repeat(bytes)),
  'boundary-like lines in a multipart header': (bytes) =>
    Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n${'--c\r\n'.repeat(Math.floor(bytes / 5))}`),
};

function parseWork(raw: Buffer): number {
  return scannedBytes(() => {
    const parsed = parseMessage(raw);
    searchText(raw, parsed);
  });
}

describe('header parsing is linear', () => {
  for (const [name, make] of Object.entries(SHAPES)) {
    it(`${name}: work at 1 MB and 8 MB stays within ${PASSES} passes`, () => {
      const small = make(MB);
      const smallWork = parseWork(small);
      assert.ok(smallWork <= PASSES * small.length, `1 MB: ${smallWork} bytes examined for ${small.length}`);
      const large = make(8 * MB);
      const largeWork = parseWork(large);
      assert.ok(largeWork <= PASSES * large.length, `8 MB: ${largeWork} bytes examined for ${large.length}`);
      // Eight times the input, at most about eight times the work (quadratic would be 64 times).
      assert.ok(largeWork <= 10 * Math.max(smallWork, small.length), `1 MB: ${smallWork}, 8 MB: ${largeWork}`);
    });
  }

  it('a 50 MB message of lines without a colon (the message size limit) is parsed in linear work', () => {
    const raw = SHAPES['lines without a colon']!(50 * MB);
    const work = parseWork(raw);
    assert.ok(work <= PASSES * raw.length, `${work} bytes examined for ${raw.length}`);
    const parsed = parseMessage(raw);
    assert.equal(parsed.root.bodyStart, raw.length, 'the whole message is header');
    assert.equal(parsed.subject, '');
  });

  it('keeps a bounded number of fields and a bounded value per field', () => {
    const many = Buffer.from(`${'a: b\r\n'.repeat(MAX_HEADER_FIELDS + 500)}Subject: late\r\n\r\nbody`);
    const block = parseHeaderBlock(many, 0, many.length);
    assert.equal(block.fields.length, MAX_HEADER_FIELDS);
    assert.equal(many.subarray(block.bodyStart).toString(), 'body', 'the body still starts after the blank line');

    const folded = Buffer.from(`Subject: first\r\n${' fold\r\n'.repeat(MAX_FIELD_BYTES / 4)}To: x@example.test\r\n\r\n`);
    const fields = parseHeaderBlock(folded, 0, folded.length).fields;
    const subject = fields.find((f) => f.name === 'subject')!.value;
    assert.ok(subject.startsWith('first fold fold'));
    assert.ok(subject.length <= MAX_FIELD_BYTES, 'cut to the limit');
    assert.ok(subject.endsWith('fold'), 'cut after a whole line');
    assert.equal(fields.find((f) => f.name === 'to')?.value, 'x@example.test', 'the next field is intact');
  });
});
