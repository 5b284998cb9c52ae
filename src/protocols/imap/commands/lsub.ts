import { SIGNED_IN, userOf } from '../state.ts';
import { command, ok } from '../context.ts';
import { DELIMITER, listMatcher } from '../mailboxes.ts';

/** LSUB (RFC 3501 §6.3.9), kept for IMAP4rev1 clients: subscribed mailboxes matching the pattern. */
export const lsub = command({
  names: ['LSUB'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const match = listMatcher(ctx.mailboxFromWire(cmd.reference) ?? '', ctx.mailboxFromWire(cmd.pattern) ?? cmd.pattern);
    for (const mailbox of await ctx.deps.mail.listMailboxes(user.accountId)) {
      if (mailbox.subscribed && match(mailbox.name)) ctx.send(`* LSUB () "${DELIMITER}" ${ctx.mailboxToWire(mailbox.name)}\r\n`);
    }
    return ok('LSUB completed');
  },
});
