import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { roleOf } from '../mailboxes.ts';
import { refuseWithout } from '../acl-checks.ts';
import { inSharedNamespace, resolveMailbox, splitSharedName } from '../shared-mailboxes.ts';
import { mailboxObjectId } from '../../../mail/object-ids.ts';

/**
 * CREATE (RFC 9051 §6.3.4) with RFC 6154 §3 `USE (\Sent …)`; parents are created as needed. Under
 * Other Users it creates in the owner's account when the parent grants `k` (RFC 4314 §4).
 */
export const create = command({
  names: ['CREATE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    if (name === null || name.replace(/\/+$/, '') === '') return no('Invalid mailbox name', 'CANNOT');
    let role: string | null = null;
    for (const use of cmd.specialUse) {
      const r = roleOf(use);
      if (!r || role) return no('Unsupported special use', 'USEATTR');
      role = r;
    }
    if (inSharedNamespace(name)) {
      // In another account: the k right on the parent (RFC 4314 §4 CREATE); special use stays the owner's.
      const full = name.replace(/\/+$/, '');
      const shared = splitSharedName(full);
      const parent = shared?.name.includes('/') ? await resolveMailbox(ctx.deps, user, full.slice(0, full.lastIndexOf('/'))) : undefined;
      if (!shared || !parent || role) return no('CREATE there needs the k right on an existing parent mailbox', 'NOPERM');
      const refused = refuseWithout(parent.rights, 'k', 'CREATE');
      if (refused) return refused;
      const created = await ctx.deps.mail.createMailbox(parent.mailbox.accountId, shared.name);
      return ok('CREATE completed', `MAILBOXID (${mailboxObjectId(created.id)})`);
    }
    if (role && (await ctx.deps.mail.mailboxByRole(user.accountId, role)))
      return no('Another mailbox already has that special use', 'USEATTR');
    const created = await ctx.deps.mail.createMailbox(user.accountId, name, { role });
    // RFC 8474 §4.1: the new mailbox's MAILBOXID.
    return ok('CREATE completed', `MAILBOXID (${mailboxObjectId(created.id)})`);
  },
});
