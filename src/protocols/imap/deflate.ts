import type { Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';

/**
 * The COMPRESS=DEFLATE layer of one IMAP connection (RFC 4978 §3-§4): raw DEFLATE (RFC 1951) in
 * both directions. The socket's bytes are inflated into `inflated`, a stream the session's input
 * (net/line-input.ts) reads at its own pace: pausing it stops the inflater, which stops the
 * socket, so a small compressed input can never become more buffered memory than the input's own
 * bound plus one inflate window. Output is deflated and sync-flushed whenever the session
 * flushes, so every response reaches the client whole.
 */
export class DeflateLayer {
  readonly #socket: Duplex;
  readonly #inflate: zlib.InflateRaw;
  readonly #deflate: zlib.DeflateRaw;
  #ended = false;
  #onSocketData = (chunk: Buffer) => this.input(chunk);

  constructor(socket: Duplex, handlers: { onError(): void }) {
    this.#socket = socket;
    this.#inflate = zlib.createInflateRaw();
    this.#deflate = zlib.createDeflateRaw({ level: zlib.constants.Z_DEFAULT_COMPRESSION });
    this.#inflate.on('error', () => handlers.onError());
    this.#deflate.on('error', () => handlers.onError());
    // The socket stays ours to end: the session closes it once the last deflated bytes are out.
    this.#deflate.pipe(socket, { end: false });
    socket.on('data', this.#onSocketData);
  }

  /** The client's bytes, inflated. */
  get inflated(): Readable {
    return this.#inflate;
  }

  /** Compressed bytes from the client (those the socket delivers, and any received before COMPRESS took effect). */
  input(chunk: Buffer): void {
    if (this.#ended) return;
    if (!this.#inflate.write(chunk)) {
      this.#socket.pause();
      this.#inflate.once('drain', () => this.#socket.resume());
    }
  }

  /** The writable side the session waits on for back-pressure. */
  get output(): NodeJS.WritableStream & { writableNeedDrain: boolean } {
    return this.#deflate;
  }

  write(data: string | Uint8Array): void {
    if (!this.#ended) this.#deflate.write(data);
  }

  /** Sends everything written so far as complete deflate blocks (Z_SYNC_FLUSH, RFC 4978 §4). */
  flush(): void {
    if (!this.#ended) this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH);
  }

  /** Writes a last line, finishes the stream and calls `done` once its bytes are on the socket. */
  end(data: string | undefined, done: () => void): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.off('data', this.#onSocketData);
    this.#inflate.destroy();
    let called = false;
    const once = () => {
      if (called) return;
      called = true;
      done();
    };
    this.#deflate.once('end', once);
    this.#deflate.once('error', once);
    this.#deflate.once('close', once);
    if (data !== undefined) this.#deflate.end(data);
    else this.#deflate.end();
  }

  destroy(): void {
    this.#ended = true;
    this.#socket.off('data', this.#onSocketData);
    this.#inflate.destroy();
    this.#deflate.destroy();
  }
}
