import { baseSubject } from '../../mail/base-subject.ts';
import { casemapKey, compareKeys } from '../../mail/collation.ts';
import { decodeEncodedWords } from '../../mail/mime/encoded-word.ts';
import type { EnvelopeAddress } from '../../mail/mime/types.ts';
import type { MailStore } from '../../mail/store.ts';
import type { MessageCache, MessageInfo } from './message-cache.ts';
import { pacedSort } from './paced-sort.ts';
import { Pace } from './pace.ts';
import type { SelectedMailbox } from './selected.ts';
import type { SortCriterion, SortKey } from './wire/types.ts';

/**
 * SORT (RFC 5256 §3) and SORT=DISPLAY (RFC 5957) over the messages a search found: keys come from
 * the message cache (no blob reads), strings compare by i;unicode-casemap (RFC 5051), equal keys
 * by sequence number. Loading gives other sessions a turn between batches.
 */

/** Messages loaded per batch (one query each) when SORT or THREAD needs their structure. */
const LOAD_BATCH = 1000;
/** Key comparisons between turns of the event loop. */
const SORT_STEPS_PER_TURN = 200_000;

type Deps = { readonly mail: MailStore; readonly cache: MessageCache };

/** The cached info of the messages at `seqs`, by sequence number; messages gone meanwhile are absent. */
export async function loadInfos(
  deps: Deps,
  accountId: number,
  box: SelectedMailbox,
  seqs: readonly number[],
): Promise<Map<number, MessageInfo>> {
  const out = new Map<number, MessageInfo>();
  for (let i = 0; i < seqs.length; i += LOAD_BATCH) {
    const batch = seqs.slice(i, i + LOAD_BATCH);
    const infos = await deps.cache.load(
      accountId,
      batch.map((s) => box.messageIdAt(s)),
    );
    for (const seq of batch) {
      const info = infos.get(box.messageIdAt(seq));
      if (info) out.set(seq, info);
    }
  }
  return out;
}

/** The first address of a list that is not a group marker. */
function firstAddress(list: readonly EnvelopeAddress[]): EnvelopeAddress | undefined {
  return list.find((a) => a.host !== null && a.mailbox !== null);
}

/** SORT=DISPLAY (RFC 5957 §3): the decoded display name, else the addr-spec. */
function displayOf(a: EnvelopeAddress | undefined): string {
  if (!a) return '';
  const name = a.name === null ? '' : decodeEncodedWords(a.name).trim();
  return name || `${a.mailbox}@${a.host}`;
}

/** The value one message has for one sort key (RFC 5256 §3; missing headers are the empty string). */
export function sortValue(info: MessageInfo, key: SortKey): number | string {
  const env = info.meta.envelope;
  switch (key) {
    case 'ARRIVAL':
      return info.receivedAt;
    case 'DATE':
      return info.meta.sentAt ?? info.receivedAt;
    case 'SIZE':
      return info.size;
    case 'SUBJECT':
      return casemapKey(baseSubject(info.meta.subject).base);
    case 'FROM':
      return casemapKey(firstAddress(env.from)?.mailbox ?? '');
    case 'TO':
      return casemapKey(firstAddress(env.to)?.mailbox ?? '');
    case 'CC':
      return casemapKey(firstAddress(env.cc)?.mailbox ?? '');
    case 'DISPLAYFROM':
      return casemapKey(displayOf(firstAddress(env.from)));
    case 'DISPLAYTO':
      return casemapKey(displayOf(firstAddress(env.to)));
  }
}

/** Sorts sequence numbers by the criteria, in priority order, ties by sequence number. */
export async function sortSeqs(
  deps: Deps,
  accountId: number,
  box: SelectedMailbox,
  seqs: readonly number[],
  criteria: readonly SortCriterion[],
): Promise<number[]> {
  const infos = await loadInfos(deps, accountId, box, seqs);
  const present = seqs.filter((s) => infos.has(s));
  const pace = new Pace(SORT_STEPS_PER_TURN);
  const values: Array<Array<number | string>> = [];
  for (const seq of present) {
    const info = infos.get(seq)!;
    values.push(criteria.map((c) => sortValue(info, c.key)));
    if (pace.due(criteria.length)) await pace.turn();
  }
  const index = present.map((_, i) => i);
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
  return (await pacedSort(index, compare, pace)).map((i) => present[i]!);
}
