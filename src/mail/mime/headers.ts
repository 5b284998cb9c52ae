import { decodeUnlabelled } from './charset.ts';

/** One header field: lower-case name and its value unfolded (RFC 5322 §2.2.3), not decoded. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** A parsed header block and where the body starts. */
export interface HeaderBlock {
  readonly fields: readonly HeaderField[];
  /** First byte after the blank line ending the header (or `end` when there is none). */
  readonly bodyStart: number;
  /** Set when a line inside the header was a boundary delimiter: the header (and part) stops there. */
  readonly boundaryAt: number | null;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const DASH = 0x2d;
/** Bytes looked at one by one before handing a line-end search to `indexOf`. */
const BYTEWISE = 128;

/** The next LF in `raw[from, limit)`, or `limit`: short lines byte by byte (a native call per 3-byte line costs more), long ones by `indexOf`. */
function lineEndFrom(raw: Buffer, from: number, limit: number): number {
  const stop = Math.min(limit, from + BYTEWISE);
  for (let i = from; i < stop; i++) if (raw[i] === LF) return i;
  if (stop >= limit) return limit;
  const lf = raw.indexOf(LF, stop);
  return lf < 0 || lf > limit ? limit : lf;
}

/**
 * The first line start at or after `from` (a line start) and before `limit` whose line is empty
 * or begins with `--` (with `dashes`), else `limit`: the lines before it need no closer look.
 * One tight pass over the bytes, whatever the line lengths.
 */
function nextNotableLine(raw: Buffer, from: number, limit: number, dashes: boolean): number {
  const notable = (at: number) => {
    const c = raw[at];
    return c === LF || (c === CR && raw[at + 1] === LF) || (dashes && c === DASH && raw[at + 1] === DASH);
  };
  if (from < limit && notable(from)) return from;
  for (let i = from; i < limit - 1; i++) if (raw[i] === LF && notable(i + 1)) return i + 1;
  return limit;
}

/** The first line start at or after `from` (a line start) before `limit` that is no continuation line (RFC 5322 §2.2.3), else `limit`. */
function nextUnfoldedLine(raw: Buffer, from: number, limit: number): number {
  const folded = (at: number) => raw[at] === 0x20 || raw[at] === 0x09;
  if (from < limit && !folded(from)) return from;
  for (let i = from; i < limit - 1; i++) if (raw[i] === LF && !folded(i + 1)) return i + 1;
  return limit;
}

/**
 * Fields one header block keeps (real messages carry tens; the rest are still scanned past, so the
 * body starts where it should). Bounds the memory and the work a header-only message can cause.
 */
export const MAX_HEADER_FIELDS = 2_000;
/**
 * Bytes of one field's value kept (cut after the last whole line that fits): RFC 5322 §2.1.1
 * lines are at most 998 octets, and no real field folds over 64 KiB. The stored message keeps
 * every byte; only the parsed summary (ENVELOPE, search text) sees the cut value.
 */
export const MAX_FIELD_BYTES = 64 * 1024;

function isBlankLine(raw: Buffer, lineStart: number, lineEnd: number): boolean {
  return lineEnd === lineStart || (lineEnd === lineStart + 1 && raw[lineStart] === CR);
}

function finishField(name: string, raw: Buffer, start: number, end: number): HeaderField {
  const text = decodeUnlabelled(raw.subarray(start, end));
  // Unfold: drop the line breaks, keep the whitespace that follows them (RFC 5322 §2.2.3).
  // NUL can be neither in an IMAP string nor in PostgreSQL text; it never means anything in a header.
  return { name, value: text.replace(/\r?\n/g, '').replace(/\0/g, '').trim() };
}

/**
 * Parses the header block at `start` (RFC 5322 §2.2) up to the first empty line or `end`, in time
 * linear in its length. Lines without a colon are skipped like real servers do; fields after the
 * first `MAX_HEADER_FIELDS` are skipped too. `isBoundary(lineStart, lineEnd)` lets a multipart
 * parser end a header that runs into a boundary line (a part with a missing blank line).
 */
export function parseHeaderBlock(
  raw: Buffer,
  start: number,
  end: number,
  isBoundary?: (lineStart: number, lineEnd: number) => boolean,
): HeaderBlock {
  const fields: HeaderField[] = [];
  // The open field: its name and the bytes after its colon up to the end of its last line so far
  // (continuation lines follow it directly, so one range holds the folded value).
  let name: string | null = null;
  let valueStart = 0;
  let valueEnd = 0;
  let pos = start;
  // The next colon at or after `pos` (`end` when there is none). Searching again only once `pos`
  // has passed it keeps the whole scan linear: a line without a colon must not make the search
  // run to the end of the message on every line.
  let colonAt = -1;
  const flush = () => {
    if (name !== null && fields.length < MAX_HEADER_FIELDS) fields.push(finishField(name, raw, valueStart, valueEnd));
    name = null;
  };
  // With no field open, the lines before the next one that holds a colon, is empty or starts with
  // `--` (a boundary candidate) can start no field: they are passed over in one sweep.
  let colonLineOf = -1;
  let colonLine = end;
  const skipFrom = (from: number): number => {
    let limit = end;
    if (fields.length < MAX_HEADER_FIELDS) {
      if (colonAt < from) {
        colonAt = raw.indexOf(COLON, from);
        if (colonAt < 0 || colonAt > end) colonAt = end;
      }
      if (colonLineOf !== colonAt) {
        colonLineOf = colonAt;
        colonLine = colonAt >= end ? end : Math.max(start, raw.lastIndexOf(LF, colonAt) + 1);
      }
      limit = Math.max(from, colonLine);
    }
    return nextNotableLine(raw, from, limit, isBoundary !== undefined);
  };
  while (pos < end) {
    const nl = lineEndFrom(raw, pos, end);
    const lineEnd = nl;
    const next = nl < end ? nl + 1 : end;
    if (isBlankLine(raw, pos, lineEnd) && nl < end) {
      flush();
      return { fields, bodyStart: next, boundaryAt: null };
    }
    if (isBoundary?.(pos, lineEnd)) {
      flush();
      return { fields, bodyStart: pos, boundaryAt: pos };
    }
    const first = raw[pos];
    if ((first === 0x20 || first === 0x09) && name !== null) {
      if (next - valueStart <= MAX_FIELD_BYTES) valueEnd = next;
    } else {
      flush();
      if (colonAt < pos) {
        colonAt = raw.indexOf(COLON, pos);
        if (colonAt < 0 || colonAt > end) colonAt = end;
      }
      if (colonAt > pos && colonAt < lineEnd && fields.length < MAX_HEADER_FIELDS) {
        const n = raw.toString('latin1', pos, colonAt).trim().toLowerCase();
        if (n && !/[\s\x00-\x1f\x7f]/.test(n)) {
          name = n;
          valueStart = colonAt + 1;
          valueEnd = Math.min(next, valueStart + MAX_FIELD_BYTES);
        }
      }
    }
    pos = next;
    if (pos < end) {
      if (name === null) pos = skipFrom(pos);
      // A field cut at MAX_FIELD_BYTES: the rest of its continuation lines change nothing.
      else if (pos - valueStart > MAX_FIELD_BYTES) pos = nextUnfoldedLine(raw, pos, end);
    }
  }
  flush();
  return { fields, bodyStart: end, boundaryAt: null };
}

/** The first value of header `name` (lower-case), or null. */
export function headerValue(fields: readonly HeaderField[], name: string): string | null {
  for (const f of fields) if (f.name === name) return f.value;
  return null;
}

/** Every value of header `name` (lower-case), in order. */
export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  const out: string[] = [];
  for (const f of fields) if (f.name === name) out.push(f.value);
  return out;
}
