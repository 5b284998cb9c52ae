import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { getIds, getProperties, pick } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { COUNT_PROPERTIES, MAILBOX_PROPERTIES, mailboxObjects } from './object.ts';

const KNOWN = new Set<string>(MAILBOX_PROPERTIES);

/** Mailbox/get (RFC 8621 §2.1): the standard /get; `ids: null` returns every mailbox. */
export const mailboxGet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, MAILBOX_PROPERTIES);
    const state = await typeState(ctx.services, accountId, 'Mailbox');
    const withCounts = properties.some((p) => (COUNT_PROPERTIES as readonly string[]).includes(p));
    const all = await mailboxObjects(ctx.services, accountId, withCounts && (ids === null ? true : new Set(ids)), ctx.shared);
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of ids ?? all.keys()) {
      const m = all.get(id);
      if (m) list.push(pick(m, properties));
      else notFound.push(id);
    }
    return { accountId: ctx.accountId, state: stateString(state), list, notFound };
  },
};
