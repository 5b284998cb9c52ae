/**
 * Lets long work give other work a turn: `due(n)` counts steps and says when to await `turn()`.
 * IMAP passes its event-loop pacing (protocols/imap/pace.ts); a no-op pacer runs all at once.
 */
export interface Pacer {
  due(steps?: number): boolean;
  turn(): Promise<void>;
}

/** Never due: the work runs at once (a worker thread, or input known to be small). */
export const UNPACED: Pacer = { due: () => false, turn: async () => {} };

/** Elements sorted in one synchronous run before merging starts. */
const RUN = 2048;

/**
 * A stable merge sort that gives the event loop a turn (through `pace`) between merge steps, so
 * sorting 100,000 messages for SORT or THREAD never holds other sessions for long. Returns a new
 * array; `compare` is called O(n log n) times and counted as steps.
 */
export async function pacedSort<T>(items: readonly T[], compare: (a: T, b: T) => number, pace: Pacer): Promise<T[]> {
  // Unpaced, the engine's own stable sort gives the same order without the merge steps.
  if (pace === UNPACED) return items.slice().sort(compare);
  let src = items.slice();
  for (let i = 0; i < src.length; i += RUN) {
    const run = src.slice(i, i + RUN).sort(compare);
    for (let k = 0; k < run.length; k++) src[i + k] = run[k]!;
    if (pace.due(run.length * 11)) await pace.turn();
  }
  let dst = new Array<T>(src.length);
  for (let width = RUN; width < src.length; width *= 2) {
    for (let lo = 0; lo < src.length; lo += 2 * width) {
      const mid = Math.min(lo + width, src.length);
      const hi = Math.min(lo + 2 * width, src.length);
      let a = lo;
      let b = mid;
      let o = lo;
      while (a < mid && b < hi) dst[o++] = compare(src[b]!, src[a]!) < 0 ? src[b++]! : src[a++]!;
      while (a < mid) dst[o++] = src[a++]!;
      while (b < hi) dst[o++] = src[b++]!;
      if (pace.due(hi - lo)) await pace.turn();
    }
    [src, dst] = [dst, src];
  }
  return src;
}
