import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { compileListPattern, LIST_STEP_LIMIT, LIST_STEPS_PER_TURN } from '../list-pattern.ts';
import { ancestors, DELIMITER, listOrder } from '../mailboxes.ts';
import { Pace } from '../pace.ts';

/**
 * LSUB (RFC 3501 §6.3.9), kept for IMAP4rev1 clients: the subscribed names matching the pattern,
 * whether or not their mailbox exists. A name the pattern misses whose unsubscribed ancestor it
 * matches (`foo/bar` subscribed, `LSUB "" %`) lists that ancestor as `\Noselect`.
 */
export const lsub = command({
  names: ['LSUB'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const pattern = compileListPattern(ctx.mailboxFromWire(cmd.reference) ?? '', ctx.mailboxFromWire(cmd.pattern) ?? cmd.pattern);
    const [all, subscriptions] = await Promise.all([
      ctx.deps.mail.listMailboxes(user.accountId),
      ctx.deps.mail.listSubscriptions(user.accountId),
    ]);
    const subscribed = new Set(subscriptions);
    const pace = new Pace(LIST_STEPS_PER_TURN, LIST_STEP_LIMIT);
    const attrs = new Map<string, string>();
    for (const name of subscriptions) {
      if (pace.due()) await pace.turn();
      if (pace.exhausted) return no('The mailbox pattern is too expensive', 'LIMIT');
      if (pattern.matches(name, pace)) {
        attrs.set(name, '()');
        continue;
      }
      for (const a of ancestors(name)) {
        if (subscribed.has(a) || attrs.has(a)) continue;
        if (pattern.matches(a, pace)) attrs.set(a, '(\\Noselect)');
      }
    }
    for (const name of listOrder(attrs.keys(), all)) {
      ctx.send(`* LSUB ${attrs.get(name)} "${DELIMITER}" ${ctx.mailboxToWire(name)}\r\n`);
    }
    return ok('LSUB completed');
  },
});
