import type { ImapMailView } from '../../mail/views.ts';
import type { MessageCache } from './message-cache.ts';
import { runSearch } from './search.ts';
import type { SelectedMailbox } from './selected.ts';
import { sortSeqs } from './sort.ts';
import type { SortThread } from './sort-thread.ts';
import { formatSequenceSet } from './wire/sequence.ts';
import type { SearchKey, SortCriterion } from './wire/types.ts';

/**
 * Live search and sort results (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH or SORT
 * with RETURN (UPDATE) keeps its result, and every later change to the selected mailbox that
 * moves a message in or out of it is told as an unsolicited `ESEARCH (TAG …) ADDTO/REMOVEFROM`.
 * Unsorted results use position 0; sorted ones give each message's position, applied in order.
 */

/** A result the client asked to keep updated, as UIDs in result order. */
export interface SearchContext {
  readonly tag: string;
  readonly uid: boolean;
  readonly criteria: SearchKey;
  /** Sort criteria for a SORT context; null for SEARCH (ascending order). */
  readonly sort: readonly SortCriterion[] | null;
  uids: number[];
}

/** Live results one selected mailbox keeps; past this UPDATE is refused with NOUPDATE (RFC 5267 §4.3.1). */
export const MAX_CONTEXTS = 8;

/** What re-running a context needs. */
export interface ContextDeps {
  readonly mail: ImapMailView;
  readonly cache: MessageCache;
  readonly sortFields: SortThread;
}

/** The correlator that starts every response about a context (RFC 4731 §3.1, RFC 5267 §4.3.2). */
export function esearchHead(tag: string, uid: boolean): string {
  return `* ESEARCH (TAG "${tag.replace(/["\\]/g, '')}")${uid ? ' UID' : ''}`;
}

/** The context's numbers as the client sees them: UIDs, or sequence numbers of the current view. */
function shown(ctx: SearchContext, box: SelectedMailbox, uid: number): number {
  return ctx.uid ? uid : box.seqOf(uid);
}

/** `pos n pos n …` for a sorted context, `0 set` for an unsorted one (RFC 5267 §4.3.3, §4.3.4). */
function pairs(ctx: SearchContext, items: ReadonlyArray<readonly [number, number]>): string {
  if (!ctx.sort) return `0 ${formatSequenceSet(items.map(([, n]) => n).sort((a, b) => a - b))}`;
  return items.map(([pos, n]) => `${pos} ${n}`).join(' ');
}

/**
 * REMOVEFROM for messages about to be expunged, sent before their EXPUNGE responses while their
 * sequence numbers still hold; the messages leave every context.
 */
export function removeExpunged(box: SelectedMailbox, expunged: readonly number[]): string {
  if (!box.contexts.size || !expunged.length) return '';
  const gone = new Set(expunged);
  let out = '';
  for (const ctx of box.contexts.values()) {
    const removed: Array<[number, number]> = [];
    const kept: number[] = [];
    for (const uid of ctx.uids) {
      // Each removal shifts the positions after it (RFC 5267 §4.3.4): positions count what is left.
      if (gone.has(uid)) removed.push([kept.length + 1, shown(ctx, box, uid)]);
      else kept.push(uid);
    }
    ctx.uids = kept;
    if (removed.length) out += `${esearchHead(ctx.tag, ctx.uid)} REMOVEFROM (${pairs(ctx, removed)})\r\n`;
  }
  return out;
}

/** Runs a context's search (and sort) over the current view; UIDs in result order. */
export async function evaluate(
  deps: ContextDeps,
  accountId: number,
  box: SelectedMailbox,
  ctx: Omit<SearchContext, 'uids' | 'tag' | 'uid'>,
): Promise<number[]> {
  const found = await runSearch(deps, accountId, box, ctx.criteria);
  const seqs = ctx.sort ? await sortSeqs(deps.sortFields, accountId, box, found.seqs, ctx.sort) : found.seqs;
  return seqs.map((s) => box.uidAt(s));
}

/**
 * Re-runs every context of the mailbox after its view changed and returns the REMOVEFROM and
 * ADDTO responses that turn each old result into the new one. Sort keys never change for a
 * message, so the messages that stay keep their relative order: removals first (positions in the
 * shrinking list), then additions in ascending final position.
 */
export async function refreshContexts(deps: ContextDeps, accountId: number, box: SelectedMailbox): Promise<string> {
  let out = '';
  for (const ctx of [...box.contexts.values()]) {
    const next = await evaluate(deps, accountId, box, ctx);
    const before = new Set(ctx.uids);
    const after = new Set(next);
    const removed: Array<[number, number]> = [];
    let kept = 0;
    for (const uid of ctx.uids) {
      if (after.has(uid)) kept++;
      else removed.push([kept + 1, shown(ctx, box, uid)]);
    }
    const added: Array<[number, number]> = [];
    next.forEach((uid, i) => {
      if (!before.has(uid)) added.push([i + 1, shown(ctx, box, uid)]);
    });
    ctx.uids = next;
    const head = esearchHead(ctx.tag, ctx.uid);
    if (removed.length) out += `${head} REMOVEFROM (${pairs(ctx, removed)})\r\n`;
    if (added.length) out += `${head} ADDTO (${pairs(ctx, added)})\r\n`;
  }
  return out;
}

/**
 * Keeps `ctx` live in the mailbox (a later command with the same tag replaces it); returns the
 * `NOUPDATE "tag"` response code when the mailbox already keeps as many as it will (RFC 5267 §4.3.1).
 */
export function startContext(box: SelectedMailbox, ctx: SearchContext): string | undefined {
  if (!box.contexts.has(ctx.tag) && box.contexts.size >= MAX_CONTEXTS) return `NOUPDATE "${ctx.tag.replace(/["\\]/g, '')}"`;
  box.contexts.set(ctx.tag, ctx);
  return undefined;
}
