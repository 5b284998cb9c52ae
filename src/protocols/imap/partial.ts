import type { PartialRange } from './wire/types.ts';

/**
 * The part of an ordered result a PARTIAL range names (RFC 9394 §3.1): `a:b` counts positions
 * from the first (oldest) result, `-a:-b` from the last; positions past the end are skipped.
 */
export function partialSlice<T>(items: readonly T[], range: PartialRange): T[] {
  if (!range.fromEnd) return items.slice(range.from - 1, range.to);
  const n = items.length;
  return items.slice(Math.max(0, n - range.to), Math.max(0, n - range.from + 1));
}

/** The range as the `PARTIAL (range set)` answer echoes it (RFC 9394 §3.1). */
export function formatPartialRange(range: PartialRange): string {
  return range.fromEnd ? `-${range.from}:-${range.to}` : `${range.from}:${range.to}`;
}
