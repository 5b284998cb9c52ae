import type { BusyInstance, FbType } from './expand.ts';

/**
 * Merging busy instances into free/busy periods (RFC 4791 §7.10: clipped to the range, overlaps
 * merged). The result is one timeline without overlaps; where types overlap the stronger wins,
 * BUSY > BUSY-UNAVAILABLE > BUSY-TENTATIVE (the precedence of JMAP Calendars getAvailability).
 */

/** A merged busy period, epoch ms, end exclusive. */
export interface BusyPeriod {
  readonly start: number;
  readonly end: number;
  readonly type: FbType;
}

/** A time range, epoch ms, end exclusive. */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

const RANK: Record<FbType, number> = { 'BUSY-TENTATIVE': 1, 'BUSY-UNAVAILABLE': 2, BUSY: 3 };
const BY_RANK: FbType[] = ['BUSY-TENTATIVE', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE', 'BUSY'];

/** Clips to `range`, resolves overlaps by precedence and joins touching periods of the same type. */
export function mergeBusy(instances: Iterable<BusyInstance>, range: TimeRange): BusyPeriod[] {
  // Sweep over start (+1) and end (-1) edges per type.
  const edges: Array<[number, number, number]> = [];
  for (const i of instances) {
    const start = Math.max(i.start, range.start);
    const end = Math.min(i.end, range.end);
    if (end <= start) continue;
    edges.push([start, RANK[i.type], 1], [end, RANK[i.type], -1]);
  }
  edges.sort((a, b) => a[0] - b[0]);
  const open = [0, 0, 0, 0];
  const out: BusyPeriod[] = [];
  let current = 0;
  let since = 0;
  for (let k = 0; k < edges.length; ) {
    const at = edges[k]![0];
    for (; k < edges.length && edges[k]![0] === at; k++) {
      const [, rank, delta] = edges[k]!;
      open[rank] = (open[rank] ?? 0) + delta;
    }
    const top = open[3]! > 0 ? 3 : open[2]! > 0 ? 2 : open[1]! > 0 ? 1 : 0;
    if (top === current) continue;
    if (current !== 0) appendPeriod(out, since, at, BY_RANK[current]!);
    current = top;
    since = at;
  }
  return out;
}

function appendPeriod(out: BusyPeriod[], start: number, end: number, type: FbType): void {
  const last = out.at(-1);
  if (last && last.end === start && last.type === type) out[out.length - 1] = { start: last.start, end, type };
  else out.push({ start, end, type });
}

/** The gaps of `range` not covered by any period (periods must be sorted and non-overlapping). */
export function freeGaps(periods: readonly TimeRange[], range: TimeRange): TimeRange[] {
  const out: TimeRange[] = [];
  let at = range.start;
  for (const p of periods) {
    if (p.start > at) out.push({ start: at, end: Math.min(p.start, range.end) });
    at = Math.max(at, p.end);
    if (at >= range.end) break;
  }
  if (at < range.end) out.push({ start: at, end: range.end });
  return out;
}
