import { compareKeys } from '../../mail/collation.ts';
import { pacedSort } from '../../mail/paced-sort.ts';
import { Pace } from './pace.ts';
import type { SelectedMailbox } from './selected.ts';
import type { SortFieldCache, SortFields } from './sort-fields.ts';
import type { SortCriterion, SortKey } from './wire/types.ts';

/**
 * SORT (RFC 5256 §3) and SORT=DISPLAY (RFC 5957) over the messages a search found: keys come from
 * the sort-field cache (no message file is read), strings compare by i;unicode-casemap
 * (RFC 5051), equal keys by sequence number; the merge sort gives other sessions turns.
 */

/** Key comparisons between turns of the event loop. */
const SORT_STEPS_PER_TURN = 20_000;

/** The sort fields of the messages at `seqs`, by sequence number; messages gone meanwhile are absent. */
export async function fieldsOf(
  cache: SortFieldCache,
  accountId: number,
  box: SelectedMailbox,
  seqs: readonly number[],
): Promise<Map<number, SortFields>> {
  const byId = await cache.load(
    accountId,
    seqs.map((s) => box.messageIdAt(s)),
  );
  const out = new Map<number, SortFields>();
  for (const seq of seqs) {
    const f = byId.get(box.messageIdAt(seq));
    if (f) out.set(seq, f);
  }
  return out;
}

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

/** Sorts sequence numbers by the criteria, in priority order, ties by sequence number. */
export async function sortSeqs(
  cache: SortFieldCache,
  accountId: number,
  box: SelectedMailbox,
  seqs: readonly number[],
  criteria: readonly SortCriterion[],
): Promise<number[]> {
  const fields = await fieldsOf(cache, accountId, box, seqs);
  const present = seqs.filter((s) => fields.has(s));
  const values = present.map((seq) => criteria.map((c) => sortValue(fields.get(seq)!, c.key)));
  const compare = (a: number, b: number): number => {
    const va = values[a]!;
    const vb = values[b]!;
    for (let k = 0; k < criteria.length; k++) {
      const x = va[k]!;
      const y = vb[k]!;
      const d = typeof x === 'number' ? x - (y as number) : compareKeys(x, y as string);
      if (d) return criteria[k]!.reverse ? -d : d;
    }
    return present[a]! - present[b]!;
  };
  const order = await pacedSort(
    present.map((_, i) => i),
    compare,
    new Pace(SORT_STEPS_PER_TURN),
  );
  return order.map((i) => present[i]!);
}
