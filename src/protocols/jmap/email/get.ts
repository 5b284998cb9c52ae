import type { Args, JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { MethodError } from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { parseBodyProperties } from './body.ts';
import { parseHeaderProperty } from './headers.ts';
import { DEFAULT_EMAIL_PROPERTIES, EMAIL_PROPERTIES, type EmailRequest, emailObject, needsHeaders, needsRaw } from './object.ts';

const KNOWN = new Set<string>(EMAIL_PROPERTIES);

/** Parses the Email/get arguments that shape each object (RFC 8621 §4.2). */
export function emailRequest(args: Args): EmailRequest {
  const properties = getProperties(args, KNOWN, DEFAULT_EMAIL_PROPERTIES, (p) => parseHeaderProperty(p) !== undefined);
  return {
    properties: properties.filter((p) => KNOWN.has(p)),
    headerProperties: properties.flatMap((p) => parseHeaderProperty(p) ?? []),
    body: parseBodyProperties(args.strings('bodyProperties')),
    fetchTextBodyValues: args.boolean('fetchTextBodyValues', false),
    fetchHTMLBodyValues: args.boolean('fetchHTMLBodyValues', false),
    fetchAllBodyValues: args.boolean('fetchAllBodyValues', false),
    maxBodyValueBytes: args.uint('maxBodyValueBytes', 0),
  };
}

/** Loads and builds Email objects for store ids (in the given order; missing ones are left out). */
export async function loadEmails(
  ctx: MethodContext,
  accountId: number,
  ids: readonly number[],
  req: EmailRequest,
): Promise<Map<number, JsonObject>> {
  const { mail, blobs } = ctx.services;
  const messages = await mail.getMessages(accountId, ids, ctx.shared?.readerId);
  const boxes = req.properties.includes('mailboxIds') ? await mail.mailboxIdsOf(messages.map((m) => m.id)) : new Map<number, number[]>();
  const raw = needsRaw(req);
  const header = !raw && needsHeaders(req);
  const out = new Map<number, JsonObject>();
  for (const m of messages) {
    const rawBytes = raw ? await mail.readRaw(m) : undefined;
    const headerBytes = header ? await blobs.range(m.blobId, 0, m.meta.root.bodyStart) : undefined;
    out.set(m.id, emailObject(m, boxes.get(m.id) ?? [], req, rawBytes, headerBytes));
  }
  return out;
}

/** Email/get (RFC 8621 §4.2): the standard /get with body and header properties. */
export const emailGet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const req = emailRequest(args);
    let ids = getIds(args, ctx);
    const state = await typeState(ctx.services, accountId, 'Email');
    if (ids === null) {
      const all = await ctx.services.mail.index.messageIds(accountId, ctx.services.limits.maxObjectsInGet + 1);
      if (all.length > ctx.services.limits.maxObjectsInGet)
        throw new MethodError('requestTooLarge', 'too many Emails for ids: null; query first', { limit: 'maxObjectsInGet' });
      ids = all.map((id) => toId('email', id));
    }
    const numeric = ids.flatMap((id) => fromId('email', id) ?? []);
    const objects = await loadEmails(ctx, accountId, numeric, req);
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of ids) {
      const n = fromId('email', id);
      const o = n === undefined ? undefined : objects.get(n);
      if (o) list.push(o);
      else notFound.push(id);
    }
    return { accountId: ctx.accountId, state: stateString(state), list, notFound };
  },
};
