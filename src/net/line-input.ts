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

/** Where a message body goes as it arrives (a spool file): resolves once the bytes are taken. */
export type BodySink = (bytes: Buffer) => Promise<void>;

/** How a DATA body ended, once it was handed to the sink, or why there is none. */
export type DataResult =
  | {
      readonly kind: 'data';
      /** Bytes handed to the sink (after dot-unstuffing). */
      readonly size: number;
      /** The body exceeded `maxBytes`: the sink got only its start; the rest was read and dropped. */
      readonly tooBig: boolean;
      /** A line ended in a bare LF (RFC 5321 §2.3.8): the caller rejects the message. */
      readonly bareLf: boolean;
    }
  | { readonly kind: 'closed' };

/** Bytes looked at one by one before handing the search to `indexOf` (cheaper for short lines, slower for long ones). */
const BYTEWISE = 128;

/** The next LF at or after `from`, or -1: short lines byte by byte (a call per 3-byte line would dominate), long ones by `indexOf`. */
function nextLf(buf: Buffer, from: number): number {
  const stop = Math.min(buf.length, from + BYTEWISE);
  for (let i = from; i < stop; i++) if (buf[i] === LF) return i;
  return stop < buf.length ? buf.indexOf(LF, stop) : -1;
}

/**
 * The input side of the line transport SMTP and POP3 share, pulled by one reader at a time:
 * command lines with a length limit (RFC 5321 §4.5.3.1.4, RFC 2449 §4), SMTP DATA up to `CRLF.CRLF`
 * (RFC 5321 §4.5.2), and exact byte counts for BDAT (RFC 3030). The socket is paused while too much
 * is buffered; `upgradeTls` (net/upgrade-tls.ts) moves it to the TLS socket.
 */
export class LineInput {
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
   * (RFC 5321 §4.5.2) and the body, CRLF line endings kept, goes to `sink` as it arrives, one
   * piece per batch of input: nothing but the batch at hand is held in memory.
   */
  async data(maxBytes: number, sink: BodySink): Promise<DataResult> {
    let size = 0;
    let tooBig = false;
    let bareLf = false;
    // At the start of a line, and whether the line before ended in CRLF (the first line counts as such).
    let lineStart = true;
    let afterCrlf = true;
    let lastWasCr = false;
    for (;;) {
      const buf = this.#buf;
      const pieces: Buffer[] = [];
      let from = 0;
      let pos = 0;
      let ended = false;
      while (pos < buf.length) {
        if (lineStart && afterCrlf && buf[pos] === DOT) {
          // `.CRLF` ends the body; any other dot at the start of a line is transparency stuffing.
          if (pos + 2 >= buf.length && !this.#closed) break; // too few bytes yet to tell which
          if (buf[pos + 1] === CR && buf[pos + 2] === LF) {
            ended = true;
            break;
          }
          if (pos > from) pieces.push(buf.subarray(from, pos));
          from = pos + 1;
        }
        const lf = nextLf(buf, pos);
        if (lf < 0) {
          lastWasCr = buf[buf.length - 1] === CR;
          lineStart = false;
          pos = buf.length;
          break;
        }
        const crlf = lf > pos ? buf[lf - 1] === CR : !lineStart && lastWasCr;
        if (!crlf) bareLf = true;
        afterCrlf = crlf;
        lineStart = true;
        pos = lf + 1;
      }
      if (pos > from) pieces.push(buf.subarray(from, pos));
      this.#take(ended ? pos + 3 : pos);
      const undecided = ended ? 0 : buf.length - pos;
      const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      if (bytes.length && !tooBig) {
        size += bytes.length;
        if (size > maxBytes) tooBig = true;
        else await sink(bytes);
      }
      if (ended) return { kind: 'data', size: tooBig ? 0 : size, tooBig, bareLf };
      // More bytes may have come in while the sink was busy.
      if (this.#buf.length > undecided) continue;
      if (this.#closed) return { kind: 'closed' };
      await this.#wait();
    }
  }

  /**
   * Exactly `n` bytes (a BDAT chunk, RFC 3030 §2), handed to `sink` as they arrive; without a sink
   * they are read and dropped. False when the connection closed first.
   */
  async bytes(n: number, sink?: BodySink): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length) {
        const piece = this.#take(Math.min(left, this.#buf.length));
        left -= piece.length;
        if (sink) await sink(piece);
        continue;
      }
      if (this.#closed) return false;
      await this.#wait();
    }
    return true;
  }
}
