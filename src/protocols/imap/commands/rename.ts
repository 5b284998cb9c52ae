import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { inSharedNamespace } from '../shared-mailboxes.ts';

/** RENAME (RFC 9051 §6.3.6): children move along; renaming INBOX moves its messages to the new name. */
export const rename = command({
  names: ['RENAME'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const from = ctx.mailboxFromWire(cmd.from);
    const to = ctx.mailboxFromWire(cmd.to);
    if ((from !== null && inSharedNamespace(from)) || (to !== null && inSharedNamespace(to)))
      return no('Mailboxes cannot be renamed into, out of or within Other Users', 'CANNOT');
    if (from === null || !(await ctx.deps.mail.getMailbox(user.accountId, from))) return no('No such mailbox', 'NONEXISTENT');
    if (to === null || to.replace(/\/+$/, '') === '') return no('Invalid mailbox name', 'CANNOT');
    if (await ctx.deps.mail.getMailbox(user.accountId, to)) return no('A mailbox with that name exists', 'ALREADYEXISTS');
    await ctx.deps.mail.renameMailbox(user.accountId, from, to);
    return ok('RENAME completed');
  },
});
