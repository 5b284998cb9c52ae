import { compareKeys } from '../../mail/collation.ts';
import type { SelectedMailbox } from './selected.ts';
import type { SortFields } from './sort-fields.ts';
import type { SortThread } from './sort-thread.ts';
import type { SortCriterion, SortKey } from './wire/types.ts';

/**
 * SORT (RFC 5256 §3) and SORT=DISPLAY (RFC 5957) over the messages a search found: keys come from
 * the sort fields (no message file is read), strings compare by i;unicode-casemap (RFC 5051),
 * equal keys by sequence number. The ordering runs in the sort thread (sort-thread.ts), off the
 * event loop.
 */

/** The value of one sort key (RFC 5256 §3; a missing header is the empty string). */
function sortValue(f: SortFields, key: SortKey): number | string {
  switch (key) {
    case 'ARRIVAL':
      return f.receivedAt;
    case 'DATE':
      return f.sentAt;
    case 'SIZE':
      return f.size;
    case 'SUBJECT':
      return f.subjectKey;
    case 'FROM':
      return f.from;
    case 'TO':
      return f.to;
    case 'CC':
      return f.cc;
    case 'DISPLAYFROM':
      return f.displayFrom;
    case 'DISPLAYTO':
      return f.displayTo;
  }
}

/** Largest integer a double holds exactly: composite keys stay below it. */
const EXACT = 2 ** 53;

/** Index of `x` in the ascending distinct values `u` (present by construction). */
function indexIn(u: Float64Array, x: number): number {
  let lo = 0;
  let hi = u.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Dense ranks (0 = smallest) of numbers, equal values equal ranks; `count` distinct values. */
function rankNumbers(values: Float64Array): { rank: Float64Array; count: number } {
  const sorted = values.slice().sort();
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[count++] = sorted[i]!;
  const distinct = sorted.subarray(0, count);
  const rank = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) rank[i] = indexIn(distinct, values[i]!);
  return { rank, count };
}

/** Dense ranks of casemap keys in compareKeys order (RFC 5051 via collation.ts). */
function rankStrings(values: readonly string[]): { rank: Float64Array; count: number } {
  const index = new Map<string, number>();
  for (const v of values) index.set(v, 0);
  const distinct = [...index.keys()].sort(compareKeys);
  for (let i = 0; i < distinct.length; i++) index.set(distinct[i]!, i);
  return { rank: Float64Array.from(values, (v) => index.get(v)!), count: distinct.length };
}

/**
 * Orders messages by the criteria in priority order (RFC 5256 §3), ties by `orders` (sequence
 * numbers, all distinct, so the order is total and the same in any sort). `fields[i]` null is a
 * message gone meanwhile: left out. Returns positions into the input.
 *
 * Each key becomes a dense rank once per message (strings compared once per distinct value, not
 * per comparison), the criteria fold into one composite rank, and the result sorts as plain
 * doubles (rank × span + order) without a comparator callback.
 */
export function sortOrder(
  fields: ReadonlyArray<SortFields | null>,
  orders: ArrayLike<number>,
  criteria: readonly SortCriterion[],
): Int32Array {
  const present: number[] = [];
  for (let i = 0; i < fields.length; i++) if (fields[i]) present.push(i);
  const n = present.length;
  let rank: Float64Array = new Float64Array(n);
  let ranks = 1;
  for (const c of criteria) {
    const r =
      c.key === 'ARRIVAL' || c.key === 'DATE' || c.key === 'SIZE'
        ? rankNumbers(Float64Array.from(present, (i) => sortValue(fields[i]!, c.key) as number))
        : rankStrings(present.map((i) => sortValue(fields[i]!, c.key) as string));
    if (c.reverse) for (let k = 0; k < n; k++) r.rank[k] = r.count - 1 - r.rank[k]!;
    // ranks × count < n² ≤ 2^53 for any mailbox below 2^26 messages: exact.
    if (ranks === 1) ({ rank, count: ranks } = r);
    else {
      for (let k = 0; k < n; k++) rank[k] = rank[k]! * r.count + r.rank[k]!;
      ({ rank, count: ranks } = rankNumbers(rank));
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of present) {
    const o = orders[i]!;
    if (o < lo) lo = o;
    if (o > hi) hi = o;
  }
  const span = hi - lo + 1;
  if (n && Number.isInteger(lo) && Number.isInteger(hi) && ranks * span < EXACT && span <= 4 * n + 1024) {
    // The order is distinct per message, so rank × span + (order − lo) is distinct and says which message it is.
    const at = new Int32Array(span);
    const keys = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const o = orders[present[k]!]! - lo;
      at[o] = present[k]!;
      keys[k] = rank[k]! * span + o;
    }
    keys.sort();
    const out = new Int32Array(n);
    for (let k = 0; k < n; k++) out[k] = at[keys[k]! % span]!;
    return out;
  }
  const pos = Int32Array.from({ length: n }, (_, k) => k);
  pos.sort((a, b) => rank[a]! - rank[b]! || orders[present[a]!]! - orders[present[b]!]!);
  return Int32Array.from(pos, (k) => present[k]!);
}

/** The store ids of the messages at `seqs`, as the sort thread takes them. */
export function idsAt(box: SelectedMailbox, seqs: readonly number[]): Float64Array {
  const ids = new Float64Array(seqs.length);
  for (let i = 0; i < seqs.length; i++) ids[i] = box.messageIdAt(seqs[i]!);
  return ids;
}

/** Sorts sequence numbers by the criteria, in priority order, ties by sequence number; messages gone meanwhile are left out. */
export async function sortSeqs(
  sorter: SortThread,
  accountId: number,
  box: SelectedMailbox,
  seqs: readonly number[],
  criteria: readonly SortCriterion[],
): Promise<number[]> {
  const order = await sorter.sort(accountId, idsAt(box, seqs), Float64Array.from(seqs), criteria);
  return Array.from(order, (i) => seqs[i]!);
}
