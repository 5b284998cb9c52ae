import { mailDateDay } from '../../mail/mime/date.ts';
import { emailObjectId, threadObjectId } from '../../mail/object-ids.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ImapMailView } from '../../mail/views.ts';
import { flagToKeyword } from './flags.ts';
import type { MessageCache, MessageInfo } from './message-cache.ts';
import { Pace } from './pace.ts';
import type { SelectedMailbox } from './selected.ts';
import { ADDRESS_UNKNOWN, ADDRESS_YES, type SortThread } from './sort-thread.ts';
import { dayOf } from './wire/datetime.ts';
import { inRanges, resolveRanges } from './wire/sequence.ts';
import type { SearchKey } from './wire/types.ts';

/**
 * Evaluates a SEARCH program (RFC 9051 §6.4.4) over the selected mailbox. Flags, UIDs, sequence
 * numbers and MODSEQ come from the session's view; sizes and dates from the message cache; text
 * keys from the store's decoded search text (case-insensitive substring, RFC 9051 §6.4.4).
 */

/** Key evaluations between turns of the event loop. */
const SEARCH_STEPS_PER_TURN = 200_000;

interface Needs {
  /** Keys in the program: the work per message. */
  keys: number;
  info: boolean;
  /** SAVED* keys need the save dates (RFC 8514). */
  saved: boolean;
  modseq: boolean;
  texts: Array<Extract<SearchKey, { op: 'header' | 'body' | 'text' | 'address' }>>;
}

function scan(key: SearchKey, needs: Needs): void {
  needs.keys++;
  switch (key.op) {
    case 'and':
      for (const k of key.keys) scan(k, needs);
      return;
    case 'or':
      scan(key.a, needs);
      scan(key.b, needs);
      return;
    case 'not':
      scan(key.key, needs);
      return;
    case 'larger':
    case 'smaller':
    case 'internaldate':
    case 'sentdate':
    case 'older':
    case 'younger':
    case 'emailid':
    case 'threadid':
      needs.info = true;
      return;
    case 'header':
    case 'body':
    case 'text':
      needs.texts.push(key);
      return;
    case 'address':
      needs.texts.push(key);
      return;
    case 'modseq':
      needs.modseq = true;
      return;
    case 'savedate':
      needs.saved = true;
      return;
    default:
      return;
  }
}

function headerLineMatches(headers: string, field: string, needle: string): boolean {
  const prefix = `${field}:`;
  let at = 0;
  while (at < headers.length) {
    const end = headers.indexOf('\n', at);
    const line = headers.slice(at, end < 0 ? headers.length : end);
    if (line.startsWith(prefix) && (needle === '' || line.slice(prefix.length).includes(needle))) return true;
    if (end < 0) break;
    at = end + 1;
  }
  return false;
}

/** Messages whose header text is checked per query, with a turn of the event loop between batches. */
const TEXT_BATCH = 500;

/**
 * The lower-cased header text of the messages whose headers hold every one of `words`: the store
 * leaves the others out, so a header search never holds a mailbox's header text at once (nor
 * any body), and reads in batches (the store may be synchronous).
 */
async function headerCandidates(store: ImapMailView, ids: readonly number[], words: readonly string[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < ids.length; i += TEXT_BATCH) {
    for (const [id, text] of await store.headerTexts(ids.slice(i, i + TEXT_BATCH), words)) out.set(id, text);
    if (i + TEXT_BATCH < ids.length) await nextTurn();
  }
  return out;
}

/** When each message of the view was saved into the mailbox, by UID, in batches (RFC 8514). */
async function savedDates(store: ImapMailView, box: SelectedMailbox): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (let from = 1; from <= box.exists; from += TEXT_BATCH) {
    const uids: number[] = [];
    for (let seq = from; seq < from + TEXT_BATCH && seq <= box.exists; seq++) uids.push(box.uidAt(seq));
    for (const [uid, at] of await store.savedDates(box.id, uids)) out.set(uid, at);
    await nextTurn();
  }
  return out;
}

/** Whether every word of `needle` (letters and digits) occurs in one of the field's lines. */
function fieldHasWords(headers: string, field: string, words: readonly string[]): boolean {
  const prefix = `${field}:`;
  let at = 0;
  while (at < headers.length) {
    const end = headers.indexOf('\n', at);
    const line = headers.slice(at, end < 0 ? headers.length : end);
    if (line.startsWith(prefix) && words.every((w) => line.includes(w))) return true;
    if (end < 0) break;
    at = end + 1;
  }
  return false;
}

/**
 * Message ids (store ids) matching each text key, computed once per SEARCH. FROM/TO/CC/BCC match
 * parsed addresses (search-address.ts) in the sort thread (sort-thread.ts), never on the event
 * loop; only messages whose header line holds every word of the needle can match, so only those go.
 */
async function textMatches(
  deps: SearchDeps,
  accountId: number,
  ids: readonly number[],
  keys: Needs['texts'],
): Promise<Map<SearchKey, Set<number>>> {
  const store = deps.mail;
  const out = new Map<SearchKey, Set<number>>();
  for (const key of keys) {
    const needle = key.value.toLowerCase();
    if (key.op === 'body') out.set(key, await store.textMatches(accountId, needle, 'body'));
    else if (key.op === 'text') out.set(key, await store.textMatches(accountId, needle, 'both'));
    else if (key.op === 'header') {
      const texts = await headerCandidates(store, ids, needle ? [`${key.field}:`, needle] : [`${key.field}:`]);
      const hits = new Set<number>();
      for (const [id, t] of texts) if (headerLineMatches(t, key.field, needle)) hits.add(id);
      out.set(key, hits);
    } else {
      const words = needle.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
      const texts = await headerCandidates(store, ids, [`${key.field}:`, ...words]);
      const candidates: number[] = [];
      for (const [id, t] of texts) if (fieldHasWords(t, key.field, words)) candidates.push(id);
      const matches = candidates.length
        ? await deps.sortFields.addressSearch(accountId, Float64Array.from(candidates), key.field, needle)
        : new Uint8Array(0);
      const hits = new Set<number>();
      for (let i = 0; i < candidates.length; i++) {
        const id = candidates[i]!;
        const m = matches[i];
        if (m === ADDRESS_YES || (m === ADDRESS_UNKNOWN && headerLineMatches(texts.get(id)!, key.field, needle))) hits.add(id);
      }
      out.set(key, hits);
    }
  }
  return out;
}

/** What a SEARCH reads: the store, the message cache and the sort thread (address matches). */
export interface SearchDeps {
  readonly mail: ImapMailView;
  readonly cache: MessageCache;
  readonly sortFields: Pick<SortThread, 'addressSearch'>;
}

export interface SearchResult {
  /** Matching sequence numbers, ascending. */
  readonly seqs: number[];
  /** Highest MODSEQ among the matches (RFC 7162 §3.1.5), when the program used MODSEQ. */
  readonly highestModseq: number | null;
}

/** Runs a search; `now` is for OLDER/YOUNGER (RFC 5032). */
export async function runSearch(
  deps: SearchDeps,
  accountId: number,
  box: SelectedMailbox,
  criteria: SearchKey,
  now = Date.now(),
): Promise<SearchResult> {
  const needs: Needs = { keys: 0, info: false, saved: false, modseq: false, texts: [] };
  scan(criteria, needs);
  const ids: number[] = [];
  for (let seq = 1; seq <= box.exists; seq++) ids.push(box.messageIdAt(seq));
  const infos = needs.info ? await deps.cache.loadPaced(accountId, ids) : new Map<number, MessageInfo>();
  const texts = needs.texts.length ? await textMatches(deps, accountId, ids, needs.texts) : new Map<SearchKey, Set<number>>();
  const savedUids = new Set(box.saved);
  const savedAt = needs.saved ? await savedDates(deps.mail, box) : new Map<number, number>();
  const resolved = new Map<SearchKey, Array<[number, number]>>();

  const test = (key: SearchKey, seq: number): boolean => {
    switch (key.op) {
      case 'all':
        return true;
      case 'recent':
        return box.recent.has(box.uidAt(seq));
      case 'and':
        return key.keys.every((k) => test(k, seq));
      case 'or':
        return test(key.a, seq) || test(key.b, seq);
      case 'not':
        return !test(key.key, seq);
      case 'flag': {
        const k = flagToKeyword(key.flag);
        const has = k.ok && box.keywordsAt(seq).includes(k.keyword);
        return key.set ? has : !has;
      }
      case 'seq':
      case 'uid': {
        if (key.set.kind === 'saved') return savedUids.has(box.uidAt(seq));
        let r = resolved.get(key);
        if (!r) resolved.set(key, (r = resolveRanges(key.set, key.op === 'seq' ? box.exists : box.maxUid)));
        return inRanges(r, key.op === 'seq' ? seq : box.uidAt(seq));
      }
      case 'modseq':
        return box.modseqAt(seq) >= key.modseq;
      case 'savedate': {
        const at = savedAt.get(box.uidAt(seq));
        if (at === undefined) return false;
        const day = dayOf(at);
        return key.cmp === 'before' ? day < key.day : key.cmp === 'on' ? day === key.day : day >= key.day;
      }
      case 'header':
      case 'body':
      case 'text':
        return texts.get(key)?.has(box.messageIdAt(seq)) ?? false;
      case 'address':
        return texts.get(key)?.has(box.messageIdAt(seq)) ?? false;
      default: {
        const info = infos.get(box.messageIdAt(seq));
        if (!info) return false;
        switch (key.op) {
          case 'larger':
            return info.size > key.size;
          case 'smaller':
            return info.size < key.size;
          case 'internaldate':
          case 'sentdate': {
            // SENT*: the Date: header's day as written, its time and zone ignored (RFC 9051 §6.4.4).
            const day =
              key.op === 'internaldate' ? dayOf(info.receivedAt) : (mailDateDay(info.meta.envelope.date) ?? dayOf(info.receivedAt));
            return key.cmp === 'before' ? day < key.day : key.cmp === 'on' ? day === key.day : day >= key.day;
          }
          case 'older':
            return now - info.receivedAt >= key.seconds * 1000;
          case 'younger':
            return now - info.receivedAt <= key.seconds * 1000;
          case 'emailid':
            return emailObjectId(info.id) === key.id;
          case 'threadid':
            return threadObjectId(info.threadId) === key.id;
          default:
            return false;
        }
      }
    }
  };

  const seqs: number[] = [];
  let highest = 0;
  // A large mailbox times a long program is real work: give other sessions a turn now and then.
  const pace = new Pace(SEARCH_STEPS_PER_TURN);
  for (let seq = 1; seq <= box.exists; seq++) {
    if (pace.due(needs.keys)) await pace.turn();
    if (test(criteria, seq)) {
      seqs.push(seq);
      highest = Math.max(highest, box.modseqAt(seq));
    }
  }
  return { seqs, highestModseq: needs.modseq ? highest : null };
}
