import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { refuseWithout } from '../acl-checks.ts';
import { resolveMailbox, splitSharedName } from '../shared-mailboxes.ts';

/**
 * DELETE (RFC 9051 §6.3.5): INBOX cannot be deleted; a mailbox with children gets NO [HASCHILDREN]
 * (§7.1); deleting the selected mailbox deselects it. Needs the `x` right (RFC 4314 §4).
 */
export const del = command({
  names: ['DELETE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    if (name === null) return no('No such mailbox', 'NONEXISTENT');
    const visible = await resolveMailbox(ctx.deps, user, name);
    if (!visible) return no('No such mailbox', 'NONEXISTENT');
    const refused = refuseWithout(visible.rights, 'x', 'DELETE');
    if (refused) return refused;
    const mailbox = visible.mailbox;
    const own = splitSharedName(mailbox.name)?.name ?? mailbox.name;
    if (own === 'INBOX') return no('INBOX cannot be deleted', 'CANNOT');
    const prefix = `${own}/`;
    if ((await ctx.deps.mail.listMailboxes(mailbox.accountId)).some((m) => m.name.startsWith(prefix)))
      return no('Delete its child mailboxes first', 'HASCHILDREN');
    await ctx.deps.mail.deleteMailbox(mailbox.accountId, own);
    if (ctx.state.kind === 'selected' && ctx.state.mailbox.id === mailbox.id) {
      ctx.send('* OK [CLOSED] The selected mailbox was deleted\r\n');
      ctx.setState({ kind: 'authenticated', user });
    }
    return ok('DELETE completed');
  },
});
