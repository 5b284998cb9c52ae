import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { compileListPattern, LIST_STEP_LIMIT, LIST_STEPS_PER_TURN } from '../list-pattern.ts';
import { DELIMITER } from '../mailboxes.ts';
import { Pace } from '../pace.ts';

/** LSUB (RFC 3501 §6.3.9), kept for IMAP4rev1 clients: subscribed mailboxes matching the pattern. */
export const lsub = command({
  names: ['LSUB'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const pattern = compileListPattern(ctx.mailboxFromWire(cmd.reference) ?? '', ctx.mailboxFromWire(cmd.pattern) ?? cmd.pattern);
    const pace = new Pace(LIST_STEPS_PER_TURN, LIST_STEP_LIMIT);
    for (const mailbox of await ctx.deps.mail.listMailboxes(user.accountId)) {
      if (pace.due()) await pace.turn();
      if (pace.exhausted) return no('The mailbox pattern is too expensive', 'LIMIT');
      if (mailbox.subscribed && pattern.matches(mailbox.name, pace))
        ctx.send(`* LSUB () "${DELIMITER}" ${ctx.mailboxToWire(mailbox.name)}\r\n`);
    }
    return ok('LSUB completed');
  },
});
