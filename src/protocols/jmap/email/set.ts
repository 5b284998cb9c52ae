import { isFingerpostError } from '../../../core/errors.ts';
import { isObject, type JsonObject } from '../args.ts';
import { readBlobIn } from '../sharing/shared-blobs.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import { parseDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidProperties, PropertyProblems, type SetError, SetErrorException, setError } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { fromId, toBlobId, toId } from '../ids.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkIfInState, typeState } from '../state.ts';
import { composeEmail } from './compose.ts';
import { changedEmailProperties } from './fixed-properties.ts';

/** Keywords one Email may carry (RFC 8621 §4.6 `tooManyKeywords`). */
export const MAX_KEYWORDS = 100;
const KEYWORD_RE = /^[\x21-\x7e]{1,255}$/;

function validKeyword(k: string): boolean {
  return KEYWORD_RE.test(k) && !/[(){\]%*"\\]/.test(k);
}

/** Parses a `keywords` object (`{"$seen": true}`); only `true` values are allowed (RFC 8621 §4.1.1). */
export function parseKeywords(value: JsonValue | undefined, property = 'keywords'): string[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value)) throw invalidProperties([property]);
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v !== true || !validKeyword(k)) throw invalidProperties([property], `invalid keyword ${JSON.stringify(k.slice(0, 100))}`);
    out.push(k.toLowerCase());
  }
  if (out.length > MAX_KEYWORDS) throw setError('tooManyKeywords');
  return [...new Set(out)];
}

/** Resolves a `mailboxIds` object to existing mailboxes of the account (creation ids allowed). */
export async function parseMailboxIds(ctx: MethodContext, accountId: number, value: JsonValue | undefined): Promise<number[]> {
  if (!isObject(value)) throw invalidProperties(['mailboxIds']);
  const existing = new Set((await ctx.services.mail.listMailboxes(accountId)).map((m) => m.id));
  const out: number[] = [];
  for (const [raw, v] of Object.entries(value)) {
    const id = fromId('mailbox', ctx.resolveId(raw));
    if (v !== true || id === undefined || !existing.has(id))
      throw invalidProperties(['mailboxIds'], `no mailbox ${JSON.stringify(raw.slice(0, 100))}`);
    out.push(id);
  }
  if (!out.length) throw invalidProperties(['mailboxIds'], 'an Email must be in at least one mailbox');
  return [...new Set(out)];
}

function asSetError(err: unknown): SetError {
  if (err instanceof SetErrorException) return err.error;
  if (isFingerpostError(err, 'not_found')) return { type: 'notFound' };
  if (isFingerpostError(err, 'invalid_argument')) return { type: 'invalidProperties', description: (err as Error).message };
  throw err;
}

/** The `mailboxIds`, `keywords` and `receivedAt` of a creation or import (RFC 8621 §4.6, §4.8), problems recorded. */
export async function parseEmailMeta(
  ctx: MethodContext,
  accountId: number,
  input: JsonObject,
  problems: PropertyProblems,
): Promise<{ mailboxIds: number[]; keywords: string[]; receivedAt: number | undefined }> {
  const mailboxIds = await problems.checkAsync(() => parseMailboxIds(ctx, accountId, input['mailboxIds']), []);
  const keywords = problems.check(() => parseKeywords(input['keywords']), []);
  let receivedAt: number | undefined;
  if (input['receivedAt'] !== undefined && input['receivedAt'] !== null) {
    receivedAt = parseDate(input['receivedAt'], true);
    if (receivedAt === undefined) problems.add(['receivedAt'], 'expected a UTCDate');
  }
  return { mailboxIds, keywords, receivedAt };
}

async function create(ctx: MethodContext, accountId: number, input: JsonObject): Promise<JsonObject> {
  const problems = new PropertyProblems();
  const { mailboxIds, keywords, receivedAt } = await parseEmailMeta(ctx, accountId, input, problems);
  const raw = await composeEmail(input, {
    hostname: ctx.services.config.server.hostname,
    readBlob: (blobId) => readBlobIn(ctx, accountId, blobId),
    now: ctx.services.now(),
    problems,
  });
  problems.throwIfAny();
  if (raw.length > ctx.services.config.jmap.max_size_upload)
    throw setError('tooLarge', 'the message is too large', { maxSize: ctx.services.config.jmap.max_size_upload });
  return storeNew(ctx, accountId, raw, mailboxIds, keywords, receivedAt);
}

/**
 * Appends a message to its first mailbox, then adds the others; returns the created-object answer.
 * A message the storage quota has no room for is the SetError `overQuota` (RFC 8620 §5.3).
 */
export async function storeNew(
  ctx: MethodContext,
  accountId: number,
  raw: Buffer,
  mailboxIds: readonly number[],
  keywords: readonly string[],
  receivedAt?: number,
): Promise<JsonObject> {
  const { mail } = ctx.services;
  const appended = await mail
    .append(accountId, mailboxIds[0]!, raw, { keywords, ...(receivedAt !== undefined ? { receivedAt } : {}) })
    .catch((err: unknown) => {
      // RFC 8620 §5.3 / RFC 9425 §6: the account's quota has no room for this message.
      if (isFingerpostError(err, 'over_quota')) throw setError('overQuota', 'the account is over its storage quota');
      throw err;
    });
  if (mailboxIds.length > 1) await mail.setMailboxes(accountId, appended.messageId, mailboxIds);
  const [stored] = await mail.getMessages(accountId, [appended.messageId]);
  return {
    id: toId('email', appended.messageId),
    blobId: toBlobId(stored!.blobId),
    threadId: toId('thread', stored!.threadId),
    size: stored!.size,
  };
}

/** Applies a PatchObject limited to `keywords` and `mailboxIds` (RFC 8621 §4.6 update). */
async function update(ctx: MethodContext, accountId: number, id: string, patch: JsonObject): Promise<void> {
  const n = fromId('email', id);
  const [message] = n === undefined ? [] : await ctx.services.mail.getMessages(accountId, [n], ctx.shared?.readerId);
  if (!message) throw setError('notFound');
  let keywords: Set<string> | undefined;
  let boxes: Map<string, true> | undefined;
  const fixed: JsonObject = {};
  const currentBoxes = async () =>
    new Map(((await ctx.services.mail.mailboxIdsOf([message.id])).get(message.id) ?? []).map((b) => [toId('mailbox', b), true as const]));
  for (const [path, value] of Object.entries(patch)) {
    if (path === 'keywords') {
      keywords = new Set(parseKeywords(value));
    } else if (path.startsWith('keywords/')) {
      if (Object.hasOwn(patch, 'keywords')) throw setError('invalidPatch', 'keywords and keywords/… in one patch');
      const k = path.slice('keywords/'.length).replaceAll('~1', '/').replaceAll('~0', '~').toLowerCase();
      if (!validKeyword(k) || (value !== true && value !== null)) throw invalidProperties(['keywords']);
      keywords ??= new Set(message.keywords);
      if (value === true) keywords.add(k);
      else keywords.delete(k);
    } else if (path === 'mailboxIds') {
      boxes = new Map((await parseMailboxIds(ctx, accountId, value)).map((b) => [toId('mailbox', b), true as const]));
    } else if (path.startsWith('mailboxIds/')) {
      if (Object.hasOwn(patch, 'mailboxIds')) throw setError('invalidPatch', 'mailboxIds and mailboxIds/… in one patch');
      const raw = path.slice('mailboxIds/'.length);
      const box = ctx.resolveId(raw);
      if (!box || fromId('mailbox', box) === undefined || (value !== true && value !== null)) throw invalidProperties(['mailboxIds']);
      boxes ??= await currentBoxes();
      if (value === true) boxes.set(box, true);
      else boxes.delete(box);
    } else {
      fixed[path] = value;
    }
  }
  if (Object.keys(fixed).length) {
    // RFC 8620 §5.3: the rest of the Email may be sent back unchanged, never changed.
    const changed = await changedEmailProperties(ctx, accountId, message.id, fixed);
    if (changed.length) throw invalidProperties(changed, 'only keywords and mailboxIds can change');
  }
  if (keywords && keywords.size > MAX_KEYWORDS) throw setError('tooManyKeywords');
  if (boxes) {
    const ids = await parseMailboxIds(ctx, accountId, Object.fromEntries(boxes));
    await ctx.services.mail.setMailboxes(accountId, message.id, ids);
  }
  if (keywords) await ctx.services.mail.setKeywords(accountId, message.id, [...keywords], ctx.shared?.readerId);
}

/** The work of one Email/set, shared with EmailSubmission's implicit Email/set (RFC 8621 §7.5). */
export async function runEmailSet(
  ctx: MethodContext,
  accountId: number,
  input: { create: JsonObject; update: JsonObject; destroy: readonly string[]; ifInState?: string | undefined },
): Promise<JsonObject> {
  const oldState = await typeState(ctx.services, accountId, 'Email');
  checkIfInState(input.ifInState, oldState);
  const created: JsonObject = {};
  const notCreated: Record<string, SetError> = {};
  for (const [cid, value] of Object.entries(input.create)) {
    try {
      if (!isObject(value)) throw invalidProperties([], 'an Email must be an object');
      const result = await create(ctx, accountId, value);
      created[cid] = result;
      ctx.created(cid, result['id'] as string);
    } catch (err) {
      notCreated[cid] = asSetError(err);
    }
  }
  const updated: JsonObject = {};
  const notUpdated: Record<string, SetError> = {};
  for (const [rawId, patch] of Object.entries(input.update)) {
    const id = ctx.resolveId(rawId) ?? rawId;
    try {
      if (!isObject(patch)) throw setError('invalidPatch');
      await update(ctx, accountId, id, patch);
      updated[id] = null;
    } catch (err) {
      notUpdated[id] = asSetError(err);
    }
  }
  const destroyed: string[] = [];
  const notDestroyed: Record<string, SetError> = {};
  const wanted = input.destroy.map((raw) => ctx.resolveId(raw) ?? raw);
  const numeric = wanted.flatMap((id) => fromId('email', id) ?? []);
  const gone = new Set(await ctx.services.mail.destroyMessages(accountId, numeric));
  for (const id of wanted) {
    const n = fromId('email', id);
    if (n !== undefined && gone.has(n)) destroyed.push(id);
    else notDestroyed[id] = { type: 'notFound' };
  }
  const newState = await typeState(ctx.services, accountId, 'Email');
  return setResponse(ctx, oldState, newState, { created, updated, destroyed, notCreated, notUpdated, notDestroyed });
}

/** Email/set (RFC 8621 §4.6): create drafts, change keywords and mailboxes, destroy. */
export const emailSet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const { create: c, update: u, destroy: d } = setArguments(args, ctx);
    return runEmailSet(ctx, accountId, { create: c, update: u, destroy: d, ifInState: args.string('ifInState') });
  },
};
