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

/**
 * Orders messages by the criteria in priority order (RFC 5256 §3), ties by `orders` (sequence
 * numbers, all distinct, so the order is total and the same in any sort). `fields[i]` null is a
 * message gone meanwhile: left out. Returns positions into the input.
 */
export function sortOrder(
  fields: ReadonlyArray<SortFields | null>,
  orders: ArrayLike<number>,
  criteria: readonly SortCriterion[],
): Int32Array {
  const present: number[] = [];
  for (let i = 0; i < fields.length; i++) if (fields[i]) present.push(i);
  const values = new Array<Array<number | string>>(fields.length);
  for (const i of present) values[i] = criteria.map((c) => sortValue(fields[i]!, c.key));
  present.sort((a, b) => {
    const va = values[a]!;
    const vb = values[b]!;
    for (let k = 0; k < criteria.length; k++) {
      const x = va[k]!;
      const y = vb[k]!;
      const d = typeof x === 'number' ? x - (y as number) : compareKeys(x, y as string);
      if (d) return criteria[k]!.reverse ? -d : d;
    }
    return orders[a]! - orders[b]!;
  });
  return Int32Array.from(present);
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
