import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties, getResponse } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { IDENTITY_PROPERTIES, identityObject, listIdentities, primaryIdentityId } from './store.ts';

const KNOWN = new Set<string>(IDENTITY_PROPERTIES);

/** Identity/get (RFC 8621 §6.1): the addresses this account may send as. */
export const identityGet: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, IDENTITY_PROPERTIES);
    const rows = await listIdentities(ctx.services, accountId);
    const state = await typeState(ctx.services, accountId, 'Identity');
    const byId = new Map(rows.map((r) => [r.id, r]));
    const primary = primaryIdentityId(rows, ctx.caller.account.address);
    return getResponse(ctx, stateString(state), ids ?? rows.map((r) => toId('identity', r.id)), properties, (id) => {
      const row = byId.get(fromId('identity', id) ?? 0);
      return row && identityObject(row, primary);
    });
  },
};
