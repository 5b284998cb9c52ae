import { type Cursor, ParseError } from './cursor.ts';

/**
 * Sequence sets (RFC 9051 §9 `sequence-set`, §6.4.4.1 `$` from SEARCHRES): ranges of message
 * sequence numbers or UIDs where `*` is the largest number in use.
 */

/** One end of a range: a number, or `*` (the largest number in use). */
export type SeqNumber = number | '*';

export type SequenceSet =
  | { readonly kind: 'ranges'; readonly ranges: ReadonlyArray<readonly [SeqNumber, SeqNumber]> }
  /** `$`: the result of the last `SEARCH RETURN (SAVE)` (RFC 9051 §6.4.4.1). */
  | { readonly kind: 'saved' };

const isSeqChar = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x3a || c === 0x2c || c === 0x2a || c === 0x24;

function seqNumber(s: string): SeqNumber {
  if (s === '*') return '*';
  if (!/^[1-9]\d{0,9}$/.test(s)) throw new ParseError('Invalid sequence number');
  const n = Number(s);
  if (n > 0xffffffff) throw new ParseError('Sequence number out of range');
  return n;
}

/** Parses the text of a sequence set (`1:4,7,9:*`, `$`). */
export function parseSequenceSetText(text: string): SequenceSet {
  if (text === '$') return { kind: 'saved' };
  if (text.length > 100_000) throw new ParseError('Sequence set too long');
  const ranges: Array<readonly [SeqNumber, SeqNumber]> = [];
  for (const item of text.split(',')) {
    const parts = item.split(':');
    if (parts.length === 1) {
      const n = seqNumber(parts[0]!);
      ranges.push([n, n]);
    } else if (parts.length === 2) ranges.push([seqNumber(parts[0]!), seqNumber(parts[1]!)]);
    else throw new ParseError('Invalid sequence set');
  }
  return { kind: 'ranges', ranges };
}

/** Reads a sequence set at the cursor. */
export function readSequenceSet(c: Cursor): SequenceSet {
  return parseSequenceSetText(c.run(isSeqChar, 'a sequence set'));
}

/**
 * Resolves a set against the largest number in use (`max`, 0 when empty) into sorted, merged,
 * inclusive ranges clipped to `[1, clip]`. For sequence numbers clip = max; for UIDs pass
 * clip = Infinity-like bounds via `max` (the highest UID) since UIDs may have gaps.
 */
export function resolveRanges(set: SequenceSet, max: number, saved: readonly number[] = []): Array<[number, number]> {
  if (set.kind === 'saved') return compressToRanges(saved);
  const out: Array<[number, number]> = [];
  for (const [a, b] of set.ranges) {
    let lo = a === '*' ? max : a;
    let hi = b === '*' ? max : b;
    if (lo > hi) [lo, hi] = [hi, lo];
    if (lo === 0) lo = 1;
    if (hi < 1) continue;
    out.push([lo, hi]);
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of out) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** True when `n` lies in the (sorted, merged) ranges. Binary search. */
export function inRanges(ranges: ReadonlyArray<readonly [number, number]>, n: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (n < r[0]) hi = mid - 1;
    else if (n > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Sorted numbers to merged ranges. */
export function compressToRanges(numbers: readonly number[]): Array<[number, number]> {
  const sorted = [...numbers].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = out.at(-1);
    if (last && n <= last[1] + 1) last[1] = Math.max(last[1], n);
    else out.push([n, n]);
  }
  return out;
}

/** Formats numbers as a compact sequence set (`1:3,7,9:10`), as ESEARCH ALL, COPYUID and VANISHED use. */
export function formatSequenceSet(numbers: readonly number[]): string {
  return compressToRanges(numbers)
    .map(([a, b]) => (a === b ? String(a) : `${a}:${b}`))
    .join(',');
}

/** Formats numbers in the given order (COPYUID pairs source and destination UIDs by position, RFC 4315 §3). */
export function formatOrderedSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(i === j ? String(numbers[i]) : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
