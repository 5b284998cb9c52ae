import type { Args, JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import { parseDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Comparator, type Filter, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { fromId, toId } from '../ids.ts';
import { queryWindow, windowedQueryResponse } from '../standard.ts';
import { typeState } from '../state.ts';
import { listSubmissions, type SubmissionRow } from './store.ts';

/** An EmailSubmission FilterCondition (RFC 8621 §7.3). */
interface SubmissionCondition {
  identityIds?: Set<number>;
  emailIds?: Set<number>;
  threadIds?: Set<number>;
  undoStatus?: string;
  before?: number;
  after?: number;
}

function idSet(ctx: MethodContext, value: unknown, kind: 'identity' | 'email' | 'thread', name: string): Set<number> {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalidArguments(`${name} must be an array of ids`);
  return new Set(value.flatMap((v) => fromId(kind, ctx.resolveId(v as string)) ?? []));
}

function parseCondition(ctx: MethodContext, c: JsonObject): SubmissionCondition {
  const out: SubmissionCondition = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'identityIds') out.identityIds = idSet(ctx, v, 'identity', k);
    else if (k === 'emailIds') out.emailIds = idSet(ctx, v, 'email', k);
    else if (k === 'threadIds') out.threadIds = idSet(ctx, v, 'thread', k);
    else if (k === 'undoStatus') {
      if (typeof v !== 'string') throw invalidArguments('undoStatus must be a string');
      out.undoStatus = v;
    } else if (k === 'before' || k === 'after') {
      const ms = parseDate(v, true);
      if (ms === undefined) throw invalidArguments(`${k} must be a UTCDate`);
      out[k] = ms;
    } else throw new MethodError('unsupportedFilter', `unknown EmailSubmission filter ${JSON.stringify(k.slice(0, 100))}`);
  }
  return out;
}

function test(c: SubmissionCondition, r: SubmissionRow): boolean {
  if (c.identityIds && !c.identityIds.has(r.identity_id)) return false;
  if (c.emailIds && !c.emailIds.has(r.email_id)) return false;
  if (c.threadIds && !c.threadIds.has(r.thread_id)) return false;
  if (c.undoStatus !== undefined && r.undo_status !== c.undoStatus) return false;
  if (c.before !== undefined && !(r.send_at < c.before)) return false;
  if (c.after !== undefined && !(r.send_at >= c.after)) return false;
  return true;
}

const SORTS = new Set(['emailId', 'threadId', 'sentAt']);

function compare(sort: readonly Comparator[]) {
  return (a: SubmissionRow, b: SubmissionRow) => {
    for (const c of sort) {
      const r =
        c.property === 'emailId' ? a.email_id - b.email_id : c.property === 'threadId' ? a.thread_id - b.thread_id : a.send_at - b.send_at;
      if (r !== 0) return c.isAscending ? r : -r;
    }
    return a.id - b.id;
  };
}

/** The full result of an EmailSubmission query. */
export async function runSubmissionQuery(ctx: MethodContext, accountId: number, args: Args): Promise<string[]> {
  const filter: Filter<SubmissionCondition> | null = parseFilter(args.raw['filter'], (c) => parseCondition(ctx, c));
  const sort = parseSort(args.raw['sort'], SORTS);
  const rows = (await listSubmissions(ctx.services, accountId)).filter((r) => matchFilter(filter, r, test));
  return rows.sort(compare(sort)).map((r) => toId('submission', r.id));
}

/** EmailSubmission/query (RFC 8621 §7.3). */
export const emailSubmissionQuery: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const window = queryWindow(args);
    const state = await typeState(ctx.services, accountId, 'EmailSubmission');
    const ids = await runSubmissionQuery(ctx, accountId, args);
    return windowedQueryResponse(ctx, state, ids, window, 1000);
  },
};
