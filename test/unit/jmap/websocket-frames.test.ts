// WebSocket framing for JMAP over WebSocket (RFC 6455 §5, RFC 8887): masked client frames,
// fragmentation, control frames, limits, and a seeded fuzz run that never throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeFrame, encodeFrame, FrameParser, OPCODE } from '../../../src/protocols/jmap/push/websocket-frames.ts';

/** A client frame: masked, as RFC 6455 §5.3 requires. */
function clientFrame(opcode: number, payload: Buffer, fin = true, mask = Buffer.from([1, 2, 3, 4])): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0, 0x80 | n])
      : n < 65536
        ? Buffer.from([0, 0x80 | 126, n >> 8, n & 255])
        : Buffer.concat([Buffer.from([0, 0x80 | 127]), Buffer.alloc(8)]);
  if (n >= 65536) head.writeBigUInt64BE(BigInt(n), 2);
  head[0] = (fin ? 0x80 : 0) | opcode;
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([head, mask, body]);
}

describe('WebSocket frames', () => {
  it('unmasks text, reassembles fragments split across chunks, and passes control frames between them', () => {
    const p = new FrameParser(1 << 20);
    const bytes = Buffer.concat([
      clientFrame(OPCODE.text, Buffer.from('{"a":'), false),
      clientFrame(OPCODE.ping, Buffer.from('hi')),
      clientFrame(OPCODE.continuation, Buffer.from('1}')),
      clientFrame(OPCODE.text, Buffer.alloc(70_000, 0x61)),
    ]);
    const events = [];
    for (let i = 0; i < bytes.length; i += 7) events.push(...p.push(bytes.subarray(i, i + 7)));
    assert.deepEqual(
      events.map((e) =>
        e.kind === 'error'
          ? e
          : { kind: e.kind, opcode: e.opcode, length: e.payload.length, text: e.payload.length < 20 ? e.payload.toString() : '' },
      ),
      [
        { kind: 'control', opcode: OPCODE.ping, length: 2, text: 'hi' },
        { kind: 'message', opcode: OPCODE.text, length: 7, text: '{"a":1}' },
        { kind: 'message', opcode: OPCODE.text, length: 70_000, text: '' },
      ],
    );
  });

  const errors: Array<[string, Buffer, number]> = [
    ['an unmasked frame', Buffer.from([0x81, 0x01, 0x61]), 1002],
    ['reserved bits', Buffer.concat([Buffer.from([0xc1]), clientFrame(OPCODE.text, Buffer.from('a')).subarray(1)]), 1002],
    ['a fragmented control frame', clientFrame(OPCODE.ping, Buffer.from('x'), false), 1002],
    ['a continuation out of nowhere', clientFrame(OPCODE.continuation, Buffer.from('x')), 1002],
    ['an unknown opcode', clientFrame(0x3, Buffer.from('x')), 1002],
    ['a message over the limit', clientFrame(OPCODE.text, Buffer.alloc(2000)), 1009],
    ['a 64-bit length over the limit', Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]), 1009],
  ];
  for (const [name, bytes, code] of errors) {
    it(`refuses ${name} with close code ${code}`, () => {
      const events = new FrameParser(1024).push(bytes);
      assert.equal(events.at(-1)?.kind, 'error');
      assert.equal((events.at(-1) as { code: number }).code, code);
    });
  }

  it('writes unmasked server frames with the right length forms and close frames', () => {
    assert.deepEqual([...encodeFrame(OPCODE.text, Buffer.from('hi'))], [0x81, 2, 0x68, 0x69]);
    assert.deepEqual([...encodeFrame(OPCODE.text, Buffer.alloc(300)).subarray(0, 4)], [0x81, 126, 1, 44]);
    assert.deepEqual([...encodeFrame(OPCODE.binary, Buffer.alloc(70_000)).subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    assert.deepEqual([...closeFrame(1008, 'revoked')], [0x88, 9, 0x03, 0xf0, ...Buffer.from('revoked')]);
  });

  it('never throws on random bytes (2000 seeded buffers)', () => {
    let seed = 6455;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 2000; i++) {
      const p = new FrameParser(4096);
      const bytes = Buffer.alloc(Math.floor(rand() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      for (const e of p.push(bytes)) assert.ok(['message', 'control', 'error'].includes(e.kind));
    }
  });
});
