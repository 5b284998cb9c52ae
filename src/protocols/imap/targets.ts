import type { SelectedMailbox } from './selected.ts';
import { resolveRanges, type SequenceSet } from './wire/sequence.ts';

/**
 * The sequence numbers a sequence set names in the selected mailbox (RFC 9051 §9 `sequence-set`):
 * by sequence number or by UID (`*` is the largest in use, so `UID n:*` always includes the last
 * message), or `$`, the saved search result (RFC 9051 §6.4.4.1). Numbers past the end are skipped.
 */
export function targetSeqs(box: SelectedMailbox, set: SequenceSet, uid: boolean): number[] {
  const out: number[] = [];
  if (set.kind === 'saved') {
    for (const u of box.saved) {
      const seq = box.seqOf(u);
      if (seq) out.push(seq);
    }
    return out.sort((a, b) => a - b);
  }
  if (!uid) {
    for (const [lo, hi] of resolveRanges(set, box.exists)) for (let s = lo; s <= Math.min(hi, box.exists); s++) out.push(s);
    return out;
  }
  for (const [lo, hi] of resolveRanges(set, box.maxUid)) {
    const r = box.seqRangeOfUids(lo, hi);
    if (r) for (let s = r[0]; s <= r[1]; s++) out.push(s);
  }
  return out;
}
