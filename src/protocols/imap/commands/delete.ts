import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';

/**
 * DELETE (RFC 9051 §6.3.5): INBOX cannot be deleted; a mailbox with children gets NO [HASCHILDREN]
 * (§7.1); deleting the selected mailbox deselects it.
 */
export const del = command({
  names: ['DELETE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    if (name === null) return no('No such mailbox', 'NONEXISTENT');
    const mailbox = await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!mailbox) return no('No such mailbox', 'NONEXISTENT');
    if (mailbox.name === 'INBOX') return no('INBOX cannot be deleted', 'CANNOT');
    const prefix = `${mailbox.name}/`;
    if ((await ctx.deps.mail.listMailboxes(user.accountId)).some((m) => m.name.startsWith(prefix)))
      return no('Delete its child mailboxes first', 'HASCHILDREN');
    await ctx.deps.mail.deleteMailbox(user.accountId, mailbox.name);
    if (ctx.state.kind === 'selected' && ctx.state.mailbox.id === mailbox.id) {
      ctx.send('* OK [CLOSED] The selected mailbox was deleted\r\n');
      ctx.setState({ kind: 'authenticated', user });
    }
    return ok('DELETE completed');
  },
});
