import type net from 'node:net';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** Pause the socket when this much unread input is buffered (a client pipelining without reading). */
const HIGH_WATER = 256 * 1024;

/** One command line, or why there is none. */
export type LineResult =
  | { readonly kind: 'line'; readonly text: string }
  /** The line exceeded the limit; its bytes up to the next LF were discarded. */
  | { readonly kind: 'too_long' }
  | { readonly kind: 'closed' };

/** A DATA body after dot-unstuffing (RFC 5321 §4.5.2), or why it is unusable. */
export type DataResult =
  | {
      readonly kind: 'data';
      readonly body: Buffer;
      /** The body exceeded `maxBytes`; what was read was discarded up to the end marker. */
      readonly tooBig: boolean;
      /** A line ended in a bare LF (RFC 5321 §2.3.8): the caller rejects the message. */
      readonly bareLf: boolean;
    }
  | { readonly kind: 'closed' };

/**
 * Buffered input of a line-based mail protocol (SMTP, POP3) that readers pull from: command lines
 * with a length limit, SMTP DATA up to `CRLF.CRLF`, and exact byte counts for BDAT (RFC 3030).
 * One reader at a time; the socket is paused while too much is buffered.
 */
export class InputBuffer {
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;
  #socket: net.Socket | undefined;
  #onData = (chunk: Buffer) => this.push(chunk);
  #onEnd = () => this.close();

  /** Reads from `socket` (replacing any socket attached before, e.g. after STARTTLS). */
  attach(socket: net.Socket): void {
    this.detach();
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.once('end', this.#onEnd);
    socket.once('close', this.#onEnd);
  }

  detach(): void {
    const s = this.#socket;
    if (!s) return;
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('close', this.#onEnd);
    this.#socket = undefined;
  }

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    if (this.#buf.length > HIGH_WATER) this.#socket?.pause();
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /** Drops everything buffered: after STARTTLS/STLS nothing sent in cleartext may be executed. */
  discard(): void {
    this.#buf = Buffer.alloc(0);
  }

  /** Bytes received but not yet read: zero means the client is waiting for our replies. */
  get pending(): number {
    return this.#buf.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #take(n: number): Buffer {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    if (this.#buf.length < HIGH_WATER / 2 && this.#socket?.isPaused()) this.#socket.resume();
    return out;
  }

  #wait(): Promise<void> {
    if (this.#socket?.isPaused()) this.#socket.resume();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * The next line without its terminator (CRLF, or a bare LF, which command lines tolerate),
   * decoded as UTF-8. Lines longer than `maxBytes` are consumed and reported as `too_long`.
   */
  async line(maxBytes: number): Promise<LineResult> {
    let skipping = false;
    for (;;) {
      const lf = this.#buf.indexOf(LF);
      if (lf >= 0) {
        const raw = this.#take(lf + 1);
        if (skipping || lf > maxBytes) return { kind: 'too_long' };
        const end = lf > 0 && raw[lf - 1] === CR ? lf - 1 : lf;
        return { kind: 'line', text: raw.subarray(0, end).toString('utf8') };
      }
      if (this.#buf.length > maxBytes + 1) {
        skipping = true;
        this.#take(this.#buf.length);
      }
      if (this.#closed) return { kind: 'closed' };
      await this.#wait();
    }
  }

  /**
   * An SMTP DATA body: lines up to the `.` line, which must be CRLF-terminated and follow a CRLF
   * (so `LF.LF` never ends the message: the SMTP smuggling defence). Leading dots are removed
   * (RFC 5321 §4.5.2); the returned body keeps CRLF line endings.
   */
  async data(maxBytes: number): Promise<DataResult> {
    const out: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    let bareLf = false;
    let afterCrlf = true;
    let partial: Buffer[] = [];
    let partialSize = 0;
    let truncated = false;
    for (;;) {
      const lf = this.#buf.indexOf(LF);
      if (lf < 0) {
        if (this.#buf.length) {
          const chunk = this.#take(this.#buf.length);
          partial.push(chunk);
          partialSize += chunk.length;
          if (partialSize > 4096 && size + partialSize > maxBytes) {
            // Only the last bytes of an oversized line matter: they show how it ends.
            tooBig = true;
            truncated = true;
            out.length = 0;
            const tail = Buffer.concat(partial.slice(-2));
            partial = [tail.subarray(Math.max(0, tail.length - 2))];
            partialSize = partial[0]!.length;
          }
        }
        if (this.#closed) return { kind: 'closed' };
        await this.#wait();
        continue;
      }
      const piece = this.#take(lf + 1);
      const line = partial.length ? Buffer.concat([...partial, piece]) : piece;
      const wasTruncated = truncated;
      partial = [];
      partialSize = 0;
      truncated = false;
      const crlf = line.length >= 2 && line[line.length - 2] === CR;
      if (afterCrlf && crlf && line.length === 3 && line[0] === DOT && !wasTruncated) {
        return { kind: 'data', body: tooBig ? Buffer.alloc(0) : Buffer.concat(out), tooBig, bareLf };
      }
      // Only a dot that starts a real (CRLF-delimited) line is transparency stuffing.
      const content = afterCrlf && line[0] === DOT ? line.subarray(1) : line;
      afterCrlf = crlf;
      if (!crlf) bareLf = true;
      if (tooBig) continue;
      size += content.length;
      if (size > maxBytes) {
        tooBig = true;
        out.length = 0;
        continue;
      }
      out.push(content);
    }
  }

  /** Exactly `n` bytes (a BDAT chunk). When `keep` is false they are read and dropped. */
  async bytes(n: number, keep = true): Promise<Buffer | undefined> {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      if (this.#buf.length) {
        const piece = this.#take(Math.min(left, this.#buf.length));
        left -= piece.length;
        if (keep) out.push(piece);
        continue;
      }
      if (this.#closed) return undefined;
      await this.#wait();
    }
    return keep ? Buffer.concat(out) : Buffer.alloc(0);
  }
}
