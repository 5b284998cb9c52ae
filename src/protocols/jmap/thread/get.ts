import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments } from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties, pick } from '../standard.ts';
import { stateString, typeState } from '../state.ts';

const PROPERTIES = ['id', 'emailIds'] as const;
const KNOWN = new Set<string>(PROPERTIES);

/** Thread/get (RFC 8621 §3.1): a thread's Email ids, oldest first by `receivedAt`. */
export const threadGet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const ids = getIds(args, ctx);
    if (ids === null) throw invalidArguments('Thread/get needs ids');
    const properties = getProperties(args, KNOWN, PROPERTIES);
    const state = await typeState(ctx.services, accountId, 'Thread');
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    const wanted = ids.flatMap((id) => fromId('thread', id) ?? []);
    const members = await ctx.services.mail.index.threadMembers(accountId, wanted);
    for (const id of ids) {
      const n = fromId('thread', id);
      const emails = n === undefined ? undefined : members.get(n);
      if (!emails) notFound.push(id);
      else list.push(pick({ id, emailIds: emails.map((e) => toId('email', e)) }, properties));
    }
    return { accountId: ctx.accountId, state: stateString(state), list, notFound };
  },
};
