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

function isBlankLine(raw: Buffer, lineStart: number, lineEnd: number): boolean {
  return lineEnd === lineStart || (lineEnd === lineStart + 1 && raw[lineStart] === CR);
}

function finishField(name: string, bytes: Buffer[]): HeaderField {
  const text = decodeUnlabelled(bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes));
  // Unfold: drop the line breaks, keep the whitespace that follows them (RFC 5322 §2.2.3).
  // NUL can be neither in an IMAP string nor in PostgreSQL text; it never means anything in a header.
  return { name, value: text.replace(/\r?\n/g, '').replace(/\0/g, '').trim() };
}

/**
 * Parses the header block at `start` (RFC 5322 §2.2) up to the first empty line or `end`.
 * Lines without a colon are skipped like real servers do. `isBoundary(lineStart, lineEnd)` lets a
 * multipart parser end a header that runs into a boundary line (a part with a missing blank line).
 */
export function parseHeaderBlock(
  raw: Buffer,
  start: number,
  end: number,
  isBoundary?: (lineStart: number, lineEnd: number) => boolean,
): HeaderBlock {
  const fields: HeaderField[] = [];
  let name: string | null = null;
  let bytes: Buffer[] = [];
  let pos = start;
  const flush = () => {
    if (name !== null) fields.push(finishField(name, bytes));
    name = null;
    bytes = [];
  };
  while (pos < end) {
    let nl = raw.indexOf(LF, pos);
    if (nl < 0 || nl >= end) nl = end;
    const lineEnd = Math.min(nl, end);
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
      bytes.push(raw.subarray(pos, next));
    } else {
      flush();
      const colon = raw.indexOf(0x3a, pos);
      if (colon > pos && colon < lineEnd) {
        const n = raw.toString('latin1', pos, colon).trim().toLowerCase();
        if (n && !/[\s\x00-\x1f\x7f]/.test(n)) {
          name = n;
          bytes = [raw.subarray(colon + 1, next)];
        }
      }
    }
    pos = next;
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
