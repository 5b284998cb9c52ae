import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { getIds, getProperties, getResponse } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { QUOTA_PROPERTIES, quotaObjects } from './object.ts';

const KNOWN = new Set<string>(QUOTA_PROPERTIES);

/** Quota/get (RFC 9425 §4.1): the quotas that apply to the account. */
export const quotaGet: MethodDefinition = {
  capability: CAPABILITIES.quota,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.quota);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, QUOTA_PROPERTIES);
    const [all, state] = await Promise.all([ctx.services.mail.storageQuota(accountId), typeState(ctx.services, accountId, 'Quota')]);
    const objects = quotaObjects(all);
    const byId = new Map(objects.map((o) => [o['id'] as string, o]));
    return getResponse(ctx, stateString(state), ids ?? [...byId.keys()], properties, (id) => byId.get(id));
  },
};
