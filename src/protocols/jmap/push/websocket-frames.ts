/**
 * WebSocket framing (RFC 6455 §5) for the server side: a streaming parser of client frames
 * (which must be masked, §5.1) and a writer of unmasked server frames. No I/O.
 */

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** A frame that continues a fragmented message: nothing to hand back yet. */
const FRAGMENT = Symbol('fragment');

/** What the parser hands back: a whole message, a control frame, or a protocol error to close with. */
export type FrameEvent =
  | { readonly kind: 'message'; readonly opcode: number; readonly payload: Buffer }
  | { readonly kind: 'control'; readonly opcode: number; readonly payload: Buffer }
  | { readonly kind: 'error'; readonly code: number; readonly reason: string };

/** Reassembles client frames into messages; bounded by `maxMessage` bytes (close code 1009). */
export class FrameParser {
  readonly #maxMessage: number;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  #fragmentSize = 0;
  #failed = false;

  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage;
  }

  /** Feeds bytes; returns every complete event (after an error, nothing more). */
  push(chunk: Buffer): FrameEvent[] {
    if (this.#failed) return [];
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const out: FrameEvent[] = [];
    for (;;) {
      const event = this.#next();
      if (!event) break;
      if (event === FRAGMENT) continue;
      out.push(event);
      if (event.kind === 'error') {
        this.#failed = true;
        break;
      }
    }
    return out;
  }

  #fail(code: number, reason: string): FrameEvent {
    return { kind: 'error', code, reason };
  }

  #next(): FrameEvent | typeof FRAGMENT | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    if (b[0]! & 0x70) return this.#fail(1002, 'reserved bits set');
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.#maxMessage)) return this.#fail(1009, 'message too big');
      length = Number(big);
      offset = 10;
    }
    if (!masked) return this.#fail(1002, 'client frames must be masked');
    const control = opcode >= 0x8;
    if (control && (!fin || length > 125)) return this.#fail(1002, 'bad control frame');
    if (![0x0, 0x1, 0x2, 0x8, 0x9, 0xa].includes(opcode)) return this.#fail(1002, 'unknown opcode');
    if (!control && this.#fragmentSize + length > this.#maxMessage) return this.#fail(1009, 'message too big');
    if (b.length < offset + 4 + length) return undefined;
    const mask = b.subarray(offset, offset + 4);
    const payload = Buffer.from(b.subarray(offset + 4, offset + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    this.#buffer = b.subarray(offset + 4 + length);
    if (control) return { kind: 'control', opcode, payload };
    if (opcode === OPCODE.continuation) {
      if (!this.#fragments.length) return this.#fail(1002, 'continuation without a message');
    } else {
      if (this.#fragments.length) return this.#fail(1002, 'a new message inside a fragmented one');
      this.#fragmentOpcode = opcode;
    }
    this.#fragments.push(payload);
    this.#fragmentSize += payload.length;
    if (!fin) return FRAGMENT;
    const message = Buffer.concat(this.#fragments);
    const messageOpcode = this.#fragmentOpcode;
    this.#fragments = [];
    this.#fragmentSize = 0;
    return { kind: 'message', opcode: messageOpcode, payload: message };
  }
}

/** One unmasked server frame (RFC 6455 §5.2). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A close frame with a status code and a short reason (RFC 6455 §5.5.1). */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 100), 'utf8');
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return encodeFrame(OPCODE.close, payload);
}
