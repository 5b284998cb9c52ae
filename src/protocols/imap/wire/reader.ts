/**
 * The resumable IMAP command reader (RFC 9051 §2.2, §4.3; RFC 7888 LITERAL+; RFC 3516 `~{n}`).
 * Bytes go in as they arrive; out come whole command frames (lines with their literals), requests
 * to send a continuation `+`, raw lines (AUTHENTICATE responses, IDLE's DONE) and framing errors.
 * It refuses an oversized synchronizing literal before the client sends its bytes, and skips the
 * bytes of an oversized non-synchronizing one so they are never read as commands. No I/O.
 */

/** A complete command: `lines[i]` is followed by `literals[i]`; the last line has no literal. */
export interface Frame {
  readonly lines: readonly Buffer[];
  readonly literals: readonly Literal[];
}

export interface Literal {
  readonly data: Buffer;
  /** `~{n}` (RFC 3516 literal8): may contain NUL. */
  readonly binary: boolean;
}

export type ReaderEvent =
  | { readonly kind: 'command'; readonly frame: Frame }
  /** The client waits for `+ …` before sending a synchronizing literal. */
  | { readonly kind: 'continue' }
  /** A raw line in line mode (AUTHENTICATE responses, DONE after IDLE), without its line break. */
  | { readonly kind: 'line'; readonly line: Buffer }
  /** A framing error; the reader has already resynchronised at the next command. */
  | {
      readonly kind: 'error';
      readonly tag: string | null;
      readonly reason: 'line_too_long' | 'literal_too_big' | 'bad_literal' | 'nonsync_too_big';
      /** The command the literal belonged to, when known (APPEND answers NO [TOOBIG], others BAD). */
      readonly command: string | null;
    };

export interface ReaderLimits {
  /** Longest command line (without literals), in bytes. */
  readonly maxLine: number;
  /** Largest literal for APPEND (the APPENDLIMIT), once `allowAppend(true)` says the client may append. */
  readonly maxAppendLiteral: number;
  /** Largest literal for any other command. */
  readonly maxLiteral: number;
  /** Largest total size of one command (lines plus literals), in bytes. */
  readonly maxCommand: number;
  /** Largest non-synchronizing literal: 4096 under LITERAL- (RFC 7888 §5); unbounded under LITERAL+. */
  readonly maxNonSyncLiteral?: number;
}

const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}\r?$/;
const LF = 0x0a;

type State =
  | { readonly kind: 'line' }
  | { readonly kind: 'literal'; readonly remaining: number; readonly binary: boolean }
  | { readonly kind: 'skipLine'; tail: string }
  | { readonly kind: 'skipLiteral'; remaining: number };

function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}

/** The tag and command name from the first line of a command, as far as they can be read. */
export function peekTagAndCommand(line: Buffer): { tag: string | null; command: string | null } {
  const text = line.toString('latin1', 0, Math.min(line.length, 200));
  const m = /^([^\s(){%*"\\+\x00-\x1f\x7f]+)(?: (?:UID )?([A-Za-z]+))?/i.exec(text);
  if (!m) return { tag: null, command: null };
  const uid = /^[^ ]+ UID /i.test(text);
  return { tag: m[1]!, command: m[2] ? (uid ? `UID ${m[2].toUpperCase()}` : m[2].toUpperCase()) : null };
}

export class CommandReader {
  #limits: ReaderLimits;
  #buf: Buffer = Buffer.alloc(0);
  #state: State = { kind: 'line' };
  #lines: Buffer[] = [];
  #literals: Literal[] = [];
  #literalChunks: Buffer[] = [];
  #size = 0;
  #lineMode = false;
  /** Tag and command of the frame being skipped, for the error event. */
  #skipped: { tag: string | null; command: string | null } | null = null;
  #appendAllowed = false;

  constructor(limits: ReaderLimits) {
    this.#limits = limits;
  }

  /** Adds received bytes. */
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
  }

  /**
   * Until the client has signed in, APPEND literals get the small `maxLiteral` bound like every
   * other command: a client nobody knows yet cannot make the server buffer an APPENDLIMIT of bytes.
   */
  allowAppend(on: boolean): void {
    this.#appendAllowed = on;
  }

  /** Line mode returns each line raw (for AUTHENTICATE and IDLE); command mode frames commands. */
  setLineMode(on: boolean): void {
    this.#lineMode = on;
  }

  /** Drops everything buffered (STARTTLS: bytes pipelined after the command must not be used). */
  discard(): void {
    this.#buf = Buffer.alloc(0);
    this.#reset();
  }

  /** Hands over the bytes received but not yet framed (COMPRESS: they are already compressed, RFC 4978 §3). */
  takeBuffered(): Buffer {
    const rest = this.#buf;
    this.#buf = Buffer.alloc(0);
    return rest;
  }

  /** Bytes received but not yet consumed. */
  get buffered(): number {
    return this.#buf.length;
  }

  #reset(): void {
    this.#state = { kind: 'line' };
    this.#lines = [];
    this.#literals = [];
    this.#literalChunks = [];
    this.#size = 0;
  }

  #take(n: number): Buffer {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The next event, or null when more bytes are needed. */
  next(): ReaderEvent | null {
    for (;;) {
      const st = this.#state;
      if (st.kind === 'literal') {
        if (this.#buf.length === 0) return null;
        const n = Math.min(st.remaining, this.#buf.length);
        this.#literalChunks.push(Buffer.from(this.#take(n)));
        const remaining = st.remaining - n;
        if (remaining > 0) {
          this.#state = { kind: 'literal', remaining, binary: st.binary };
          return null;
        }
        this.#literals.push({ data: Buffer.concat(this.#literalChunks), binary: st.binary });
        this.#literalChunks = [];
        this.#state = { kind: 'line' };
        continue;
      }
      if (st.kind === 'skipLiteral') {
        if (this.#buf.length === 0) return null;
        const n = Math.min(st.remaining, this.#buf.length);
        this.#take(n);
        st.remaining -= n;
        if (st.remaining > 0) return null;
        this.#state = { kind: 'skipLine', tail: '' };
        continue;
      }
      const nl = this.#buf.indexOf(LF);
      if (st.kind === 'skipLine') {
        if (nl < 0) {
          st.tail = (st.tail + this.#buf.toString('latin1', Math.max(0, this.#buf.length - 32))).slice(-32);
          this.#buf = Buffer.alloc(0);
          return null;
        }
        const tail = (st.tail + this.#buf.toString('latin1', Math.max(0, nl - 32), nl + 1)).slice(-34);
        this.#take(nl + 1);
        const m = LITERAL_AT_END.exec(stripEol(Buffer.from(tail, 'latin1')).toString('latin1'));
        // A non-synchronizing literal in a skipped command arrives anyway: skip its bytes too.
        if (m && m[3] === '+') {
          this.#state = { kind: 'skipLiteral', remaining: Number(m[2]) };
          continue;
        }
        const skipped = this.#skipped;
        this.#skipped = null;
        this.#reset();
        if (skipped) return { kind: 'error', tag: skipped.tag, reason: 'line_too_long', command: skipped.command };
        continue;
      }
      // st.kind === 'line'
      if (nl < 0) {
        if (this.#buf.length > this.#limits.maxLine) {
          const first = this.#lines[0] ?? this.#buf;
          this.#skipped = peekTagAndCommand(first);
          this.#state = { kind: 'skipLine', tail: this.#buf.toString('latin1', this.#buf.length - 32) };
          this.#buf = Buffer.alloc(0);
          this.#lines = [];
          this.#literals = [];
          continue;
        }
        return null;
      }
      if (nl > this.#limits.maxLine + 2) {
        const first = this.#lines[0] ?? this.#buf;
        const skipped = peekTagAndCommand(first);
        this.#skipped = skipped;
        this.#state = { kind: 'skipLine', tail: '' };
        continue;
      }
      const line = stripEol(this.#take(nl + 1));
      if (this.#lineMode && this.#lines.length === 0) return { kind: 'line', line: Buffer.from(line) };
      this.#size += line.length;
      const marker = LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - 30)));
      if (!marker) {
        this.#lines.push(Buffer.from(line));
        const frame: Frame = { lines: this.#lines, literals: this.#literals };
        this.#reset();
        return { kind: 'command', frame };
      }
      this.#lines.push(Buffer.from(line));
      const size = Number(marker[2]);
      const sync = marker[3] !== '+';
      const binary = marker[1] === '~';
      const { tag, command } = peekTagAndCommand(this.#lines[0]!);
      // REPLACE carries a message like APPEND (RFC 8508 §3) and gets the same bound.
      const isAppend = (command === 'APPEND' || command === 'REPLACE' || command === 'UID REPLACE') && this.#appendAllowed;
      const limit = isAppend ? this.#limits.maxAppendLiteral : this.#limits.maxLiteral;
      if (!sync && Number.isSafeInteger(size) && size > (this.#limits.maxNonSyncLiteral ?? Number.POSITIVE_INFINITY)) {
        // LITERAL- (RFC 7888 §5): the bytes are on their way; skip them and refuse the command.
        this.#reset();
        this.#state = { kind: 'skipLiteral', remaining: size };
        return { kind: 'error', tag, reason: 'nonsync_too_big', command };
      }
      if (!Number.isSafeInteger(size) || size > limit || this.#size + size > this.#limits.maxCommand) {
        this.#reset();
        if (!sync) this.#state = { kind: 'skipLiteral', remaining: Number.isSafeInteger(size) ? size : 0 };
        // A synchronizing literal is refused before the client sends it: the command ends here.
        return { kind: 'error', tag, reason: 'literal_too_big', command };
      }
      this.#size += size;
      this.#state = { kind: 'literal', remaining: size, binary };
      if (size === 0) {
        this.#literals.push({ data: Buffer.alloc(0), binary });
        this.#state = { kind: 'line' };
      }
      if (sync) return { kind: 'continue' };
    }
  }
}
