import { createHash } from 'node:crypto';
import type { ShareAccount } from '../../../mail/sharing/grants.ts';
import type { JsonObject } from '../args.ts';
import type { MethodContext } from '../context.ts';
import { toId } from '../ids.ts';
import { sharedAccountEntry, sharedAccounts } from '../sharing/accounts.ts';

/** Principal properties (RFC 9670 §3). */
export const PRINCIPAL_PROPERTIES = ['id', 'type', 'name', 'description', 'email', 'timeZone', 'capabilities', 'accounts'] as const;

/**
 * The Principals the caller can see (RFC 9670 §3): every enabled account of the caller's domain,
 * the people sharing is possible with, as `individual`s. `accounts` lists the principal's account
 * when it is the caller's or shares mailboxes with the caller, else null.
 */
export async function principalObjects(ctx: MethodContext): Promise<{ list: JsonObject[]; state: string }> {
  const { sharing } = ctx.services.mail;
  const me = await sharing.account(ctx.caller.account.id);
  const people: ShareAccount[] = me ? await sharing.domainAccounts(me.domainId) : [];
  const shared = new Map((await sharedAccounts(ctx.services, ctx.caller.account.id)).map((s) => [s.owner.id, s]));
  const list = people.map((p) => {
    const share = shared.get(p.id);
    const accounts =
      p.id === ctx.caller.account.id
        ? { [toId('account', p.id)]: { name: p.address, isPersonal: true, isReadOnly: false } }
        : share
          ? { [toId('account', p.id)]: sharedAccountEntry(ctx.services.config, share) }
          : null;
    return {
      id: toId('principal', p.id),
      type: 'individual',
      name: p.name || p.address,
      description: null,
      email: p.address,
      timeZone: null,
      capabilities: {},
      accounts,
    } as JsonObject;
  });
  // The state is a digest of who is there: it moves when an account is added, renamed or removed.
  const state = createHash('sha256')
    .update(JSON.stringify(people.map((p) => [p.id, p.address, p.name])))
    .digest('base64url')
    .slice(0, 16);
  return { list, state };
}
