import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { getIds, getProperties, pick } from '../standard.ts';
import { pushObject } from './store.ts';

const PROPERTIES = ['id', 'deviceClientId', 'verificationCode', 'expires', 'types'] as const;
const KNOWN = new Set<string>(PROPERTIES);

/**
 * PushSubscription/get (RFC 8620 §7.2.1): the caller's subscriptions, without `url` and `keys`
 * (which are never returned); no account id and no state.
 */
export const pushSubscriptionGet: MethodDefinition = {
  capability: CAPABILITIES.core,
  async run(args, ctx) {
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, PROPERTIES);
    const rows = await ctx.services.mail.pushSubscriptions.list(ctx.caller.account.id);
    const byId = new Map(rows.map((r) => [pushObject(r)['id'] as string, r]));
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of ids ?? [...byId.keys()]) {
      const row = byId.get(id);
      if (row) list.push(pick(pushObject(row), properties));
      else notFound.push(id);
    }
    return { list, notFound };
  },
};
