import type { Readable } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** Pause the socket when this much unread input is buffered (a client pipelining without reading). */
const HIGH_WATER = 256 * 1024;
/** Bytes kept from each end of an over-long line: the start names the command, the end may announce a literal. */
const KEEP_HEAD = 256;
const KEEP_TAIL = 34;
/** A literal announced at the end of a line (RFC 9051 §4.3, RFC 7888 `{n+}`, RFC 3516 `~{n}`). */
const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;

/** One command line, or why there is none. */
export type LineResult =
  | { readonly kind: 'line'; readonly text: string }
  /** The line exceeded the limit; its bytes up to the next LF were discarded. */
  | { readonly kind: 'too_long' }
  | { readonly kind: 'closed' };

/** One line as bytes, or why there is none. */
export type RawLineResult =
  | { readonly kind: 'line'; readonly bytes: Buffer }
  /** Over the limit and discarded up to its LF; its first and last bytes (line break removed) are kept. */
  | { readonly kind: 'too_long'; readonly head: Buffer; readonly tail: Buffer }
  | { readonly kind: 'closed' };

/** A literal's bytes (RFC 9051 §4.3); `binary` for `~{n}` (RFC 3516 literal8), which may contain NUL. */
export interface Literal {
  readonly data: Buffer;
  readonly binary: boolean;
}

/** The bounds on one command with literals. */
export interface LiteralLimits {
  /** Longest line, in bytes (without literals). */
  readonly maxLine: number;
  /** Largest command: its lines plus its literals. */
  readonly maxCommand: number;
  /** Largest non-synchronizing literal: 4096 under LITERAL- (RFC 7888 §5); absent means unbounded (LITERAL+). */
  readonly maxNonSync?: number;
  /** The largest literal the command whose first line is `first` may carry. */
  literalLimit(first: Buffer): number;
}

/** One command with its literals: `lines[i]` is followed by `literals[i]`; the last line has none. */
export type CommandResult =
  | { readonly kind: 'command'; readonly lines: readonly Buffer[]; readonly literals: readonly Literal[] }
  /**
   * A framing error on the command starting with `first` (or its first bytes). A refused
   * synchronizing literal ends the command (the client waits for `+`); the bytes of a refused
   * non-synchronizing one and the rest of its command are skipped by the next read.
   */
  | { readonly kind: 'error'; readonly reason: 'line_too_long' | 'literal_too_big' | 'nonsync_too_big'; readonly first: Buffer }
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

/** The last `KEEP_TAIL` bytes of `before` followed by `more`. */
function keepTail(before: Buffer, more: Buffer): Buffer {
  return Buffer.from(Buffer.concat([before, more.subarray(Math.max(0, more.length - KEEP_TAIL))]).subarray(-KEEP_TAIL));
}

/** `line` without its CRLF or bare LF. */
function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.subarray(0, end);
}

/** The literal announced at the end of `line`, if any. */
function literalAtEnd(line: Buffer): { size: number; sync: boolean; binary: boolean } | null {
  const m = LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - 30)));
  return m ? { size: Number(m[2]), sync: m[3] !== '+', binary: m[1] === '~' } : null;
}

/**
 * The input side of the line transport SMTP, POP3 and IMAP share, pulled by one reader at a time:
 * command lines with a length limit (RFC 5321 §4.5.3.1.4, RFC 2449 §4), SMTP DATA up to `CRLF.CRLF`
 * (RFC 5321 §4.5.2), exact byte counts for BDAT (RFC 3030), and IMAP commands with their literals
 * (RFC 9051 §4.3, RFC 7888, RFC 3516). The source is paused while too much is buffered;
 * `upgradeTls` (net/upgrade-tls.ts) moves the input to the TLS socket.
 */
export class LineInput {
  /** Input not yet read: `#head`, then the chunks received since, joined only when a reader looks. */
  #head: Buffer = Buffer.alloc(0);
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  #socket: Readable | undefined;
  #onData = (chunk: Buffer) => this.push(chunk);
  #onEnd = () => this.close();
  readonly #onWait: (() => void) | undefined;
  /** Bytes of a refused non-synchronizing literal still to skip, then the rest of its command. */
  #owed: number | null = null;

  /** `onWait` runs whenever a read has to wait for the client: the moment to flush buffered replies. */
  constructor(options: { onWait?: () => void } = {}) {
    this.#onWait = options.onWait;
  }

  /** Reads from `socket` (replacing any socket attached before, e.g. after STARTTLS). */
  attach(socket: Readable): void {
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

  /** Unread input as one buffer. Chunks are joined once per read, not once per chunk (TLS delivers many per turn). */
  get #buf(): Buffer {
    if (this.#tail.length) {
      const parts = this.#head.length ? [this.#head, ...this.#tail] : this.#tail;
      this.#head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.#tail = [];
      this.#tailBytes = 0;
    }
    return this.#head;
  }

  set #buf(rest: Buffer) {
    this.#head = rest;
    this.#tail = [];
    this.#tailBytes = 0;
  }

  push(chunk: Buffer): void {
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    if (this.#head.length + this.#tailBytes > HIGH_WATER) this.#socket?.pause();
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /** Drops everything buffered: after STARTTLS/STLS nothing sent in cleartext may be executed. */
  discard(): void {
    this.#buf = Buffer.alloc(0);
    this.#owed = null;
  }

  /** Hands over the bytes received but not yet read (COMPRESS: they are already compressed, RFC 4978 §3). */
  takeBuffered(): Buffer {
    const rest = this.#buf;
    this.#buf = Buffer.alloc(0);
    return rest;
  }

  /** Bytes received but not yet read: zero means the client is waiting for our replies. */
  get pending(): number {
    return this.#head.length + this.#tailBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** The first `n` bytes of the unread input (`n` no more than there is). */
  #take(n: number): Buffer {
    const buf = this.#buf;
    this.#head = buf.subarray(n);
    const out = buf.subarray(0, n);
    this.#resumeIfLow();
    return out;
  }

  /** Up to `max` bytes as they were received (no joining of chunks), or null when nothing is buffered. */
  #takeUpTo(max: number): Buffer | null {
    if (!this.#head.length && this.#tail.length) {
      this.#head = this.#tail.shift()!;
      this.#tailBytes -= this.#head.length;
    }
    if (!this.#head.length) return null;
    const out = this.#head.subarray(0, max);
    this.#head = this.#head.subarray(out.length);
    this.#resumeIfLow();
    return out;
  }

  #resumeIfLow(): void {
    if (this.#head.length + this.#tailBytes < HIGH_WATER / 2 && this.#socket?.isPaused()) this.#socket.resume();
  }

  #wait(): Promise<void> {
    if (this.#socket?.isPaused()) this.#socket.resume();
    this.#onWait?.();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * The next line without its terminator (CRLF, or a bare LF, which command lines tolerate),
   * decoded as UTF-8. Lines longer than `maxBytes` are consumed and reported as `too_long`.
   */
  async line(maxBytes: number): Promise<LineResult> {
    const r = await this.rawLine(maxBytes);
    return r.kind === 'line' ? { kind: 'line', text: r.bytes.toString('utf8') } : { kind: r.kind };
  }

  /**
   * The next line as bytes, without its terminator. A line whose LF comes after `maxBytes` is
   * consumed and reported as `too_long`; it is never held whole in memory.
   */
  async rawLine(maxBytes: number): Promise<RawLineResult> {
    let head: Buffer | null = null;
    let tail: Buffer = Buffer.alloc(0);
    for (;;) {
      const lf = this.#buf.indexOf(LF);
      if (lf >= 0) {
        const raw = this.#take(lf + 1);
        if (head === null && lf <= maxBytes) return { kind: 'line', bytes: stripEol(raw) };
        head ??= Buffer.from(stripEol(raw).subarray(0, KEEP_HEAD));
        return { kind: 'too_long', head, tail: stripEol(keepTail(tail, raw)) };
      }
      if (this.#buf.length > maxBytes + 1) {
        const dropped = this.#take(this.#buf.length);
        head ??= Buffer.from(dropped.subarray(0, KEEP_HEAD));
        tail = keepTail(tail, dropped);
      }
      if (this.#closed) return { kind: 'closed' };
      await this.#wait();
    }
  }

  /**
   * One IMAP command with its literals (RFC 9051 §4.3). `onContinue` is called when the client
   * waits for a continuation request before sending a synchronizing literal. An oversized
   * synchronizing literal is refused before the client sends it; the bytes of an oversized
   * non-synchronizing one (RFC 7888) are skipped so they never run as commands. A line over the
   * limit is skipped to its end, with any non-synchronizing literal it announces.
   */
  async command(limits: LiteralLimits, onContinue: () => void): Promise<CommandResult> {
    const maxLine = limits.maxLine + 2;
    if (this.#owed !== null) {
      const owed = this.#owed;
      this.#owed = null;
      if ((await this.#skipRest(owed, maxLine)) === 'closed') return { kind: 'closed' };
    }
    const lines: Buffer[] = [];
    const literals: Literal[] = [];
    let size = 0;
    for (;;) {
      const r = await this.rawLine(maxLine);
      if (r.kind === 'closed') return r;
      if (r.kind === 'too_long') {
        const first = lines[0] ?? r.head;
        const marker = literalAtEnd(r.tail);
        if (marker && !marker.sync && (await this.#skipRest(marker.size, maxLine)) === 'closed') return { kind: 'closed' };
        return { kind: 'error', reason: 'line_too_long', first };
      }
      const line = Buffer.from(r.bytes);
      lines.push(line);
      size += line.length;
      const marker = literalAtEnd(line);
      if (!marker) return { kind: 'command', lines, literals };
      const first = lines[0]!;
      const n = marker.size;
      const safe = Number.isSafeInteger(n);
      if (!marker.sync && safe && n > (limits.maxNonSync ?? Number.POSITIVE_INFINITY)) {
        this.#owed = n;
        return { kind: 'error', reason: 'nonsync_too_big', first };
      }
      if (!safe || n > limits.literalLimit(first) || size + n > limits.maxCommand) {
        if (!marker.sync) this.#owed = safe ? n : 0;
        return { kind: 'error', reason: 'literal_too_big', first };
      }
      size += n;
      if (marker.sync) onContinue();
      // Filled as the bytes arrive: no copy of the whole literal at its end.
      const data = Buffer.allocUnsafe(n);
      let filled = 0;
      const whole = await this.bytes(n, async (piece) => {
        filled += piece.copy(data, filled);
      });
      if (!whole) return { kind: 'closed' };
      literals.push({ data, binary: marker.binary });
    }
  }

  /** Skips `n` literal bytes and the lines after them, up to one that announces no further non-synchronizing literal. */
  async #skipRest(n: number, maxLine: number): Promise<'skipped' | 'closed'> {
    for (let owed = n; ; ) {
      if (!(await this.bytes(owed))) return 'closed';
      const r = await this.rawLine(maxLine);
      if (r.kind === 'closed') return 'closed';
      const marker = literalAtEnd(r.kind === 'line' ? r.bytes : r.tail);
      if (!marker || marker.sync) return 'skipped';
      owed = marker.size;
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
      const piece = this.#takeUpTo(left);
      if (piece) {
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
