import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { compileListPattern, LIST_STEP_LIMIT, LIST_STEPS_PER_TURN } from '../list-pattern.ts';
import { DELIMITER, listAttributes } from '../mailboxes.ts';
import { Pace } from '../pace.ts';
import { statusLine } from '../status-items.ts';

/**
 * LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258: SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE
 * selection, several patterns), RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS) (RFC 5819), and
 * RFC 6154 attributes on every line. `LIST "" ""` answers the delimiter.
 */
export const list = command({
  names: ['LIST'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    if (cmd.patterns.length === 1 && cmd.patterns[0] === '' && !cmd.selection.subscribed && !cmd.selection.specialUse) {
      ctx.send(`* LIST (\\Noselect) "${DELIMITER}" ""\r\n`);
      return ok('LIST completed');
    }
    const reference = ctx.mailboxFromWire(cmd.reference) ?? '';
    const patterns = cmd.patterns.map((p) => compileListPattern(reference, ctx.mailboxFromWire(p) ?? p));
    const all = await ctx.deps.mail.listMailboxes(user.accountId);
    const showSubscribed = cmd.selection.subscribed || cmd.returns.subscribed;
    const pace = new Pace(LIST_STEPS_PER_TURN, LIST_STEP_LIMIT);
    for (const mailbox of all) {
      if (pace.due()) await pace.turn();
      if (pace.exhausted) return no('The mailbox patterns are too expensive', 'LIMIT');
      if (!patterns.some((p) => p.matches(mailbox.name, pace))) continue;
      let extra = '';
      if (cmd.selection.subscribed && !mailbox.subscribed) {
        // RFC 5258 §3.5: with RECURSIVEMATCH, a parent of subscribed mailboxes is listed with CHILDINFO.
        const prefix = mailbox.name + DELIMITER;
        if (!cmd.selection.recursiveMatch || !all.some((m) => m.subscribed && m.name.startsWith(prefix))) continue;
        extra = ' ("CHILDINFO" ("SUBSCRIBED"))';
      }
      if (cmd.selection.specialUse && !mailbox.role) continue;
      if (cmd.selection.specialUse && mailbox.role === 'inbox') continue;
      const attrs = listAttributes(mailbox, all, { subscribed: showSubscribed, specialUse: true });
      ctx.send(`* LIST (${attrs.join(' ')}) "${DELIMITER}" ${ctx.mailboxToWire(mailbox.name)}${extra}\r\n`);
      if (cmd.returns.status) ctx.send(await statusLine(ctx, mailbox, cmd.returns.status));
    }
    return ok('LIST completed');
  },
});
