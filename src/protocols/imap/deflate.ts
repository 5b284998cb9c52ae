import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/**
 * The COMPRESS=DEFLATE layer of one IMAP connection (RFC 4978 §3-§4): raw DEFLATE (RFC 1951) in
 * both directions. Input is inflated as a stream whose output the session takes at its own pace
 * (pausing stops the inflater, which stops the socket), so a small compressed input can never
 * become more buffered memory than the reader's own bound plus one inflate window. Output is
 * deflated and sync-flushed whenever the session flushes, so every response reaches the client
 * whole. `onBytes` sees each inflated chunk; the session counts them against its per-command bound.
 */
export class DeflateLayer {
  readonly #socket: Duplex;
  readonly #inflate: zlib.InflateRaw;
  readonly #deflate: zlib.DeflateRaw;
  #paused = false;
  #ended = false;

  constructor(socket: Duplex, handlers: { onBytes(chunk: Buffer): void; onError(): void }) {
    this.#socket = socket;
    this.#inflate = zlib.createInflateRaw();
    this.#deflate = zlib.createDeflateRaw({ level: zlib.constants.Z_DEFAULT_COMPRESSION });
    this.#inflate.on('data', (chunk: Buffer) => handlers.onBytes(chunk));
    this.#inflate.on('error', () => handlers.onError());
    this.#deflate.on('error', () => handlers.onError());
    // The socket stays ours to end: the session closes it once the last deflated bytes are out.
    this.#deflate.pipe(socket, { end: false });
  }

  /** Compressed bytes from the socket. */
  input(chunk: Buffer): void {
    if (this.#ended) return;
    if (!this.#inflate.write(chunk)) {
      this.#socket.pause();
      this.#inflate.once('drain', () => {
        if (!this.#paused) this.#socket.resume();
      });
    }
  }

  /** Stops delivering inflated bytes (the session has enough buffered). */
  pause(): void {
    this.#paused = true;
    this.#inflate.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#inflate.resume();
    if (!this.#inflate.writableNeedDrain) this.#socket.resume();
  }

  get paused(): boolean {
    return this.#paused;
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
    this.#inflate.destroy();
    this.#deflate.destroy();
  }
}
