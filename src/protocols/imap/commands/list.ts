import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { compileListPattern, LIST_STEP_LIMIT, LIST_STEPS_PER_TURN } from '../list-pattern.ts';
import { ancestors, DELIMITER, listAttributes, listOrder, parentNames, specialUse } from '../mailboxes.ts';
import { Pace } from '../pace.ts';
import { statusLine } from '../status-items.ts';
import { namespaceLevels, sharedLast, sharedMailboxes } from '../shared-mailboxes.ts';

/**
 * LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258): the SUBSCRIBED selection lists subscribed
 * names, also those whose mailbox is gone (`\NonExistent \Subscribed`); RECURSIVEMATCH adds
 * CHILDINFO to matching names with descendants that meet the selection, and lists a matching name
 * that does not meet it only when such a descendant is not matched itself (RFC 5258 §3.3, §3.5).
 * SPECIAL-USE selection (RFC 6154), several patterns, RETURN (CHILDREN SUBSCRIBED SPECIAL-USE
 * STATUS) (RFC 5819). `LIST "" ""` answers the delimiter. Mailboxes shared with the user are
 * listed under Other Users (RFC 2342, RFC 4314 §4: those with the `l` right), its levels `\Noselect`.
 */
export const list = command({
  names: ['LIST'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const sel = cmd.selection;
    if (cmd.patterns.length === 1 && cmd.patterns[0] === '' && !sel.subscribed && !sel.specialUse) {
      ctx.send(`* LIST (\\Noselect) "${DELIMITER}" ""\r\n`);
      return ok('LIST completed');
    }
    const reference = ctx.mailboxFromWire(cmd.reference) ?? '';
    const patterns = cmd.patterns.map((p) => compileListPattern(reference, ctx.mailboxFromWire(p) ?? p));
    const showSubscribed = sel.subscribed || cmd.returns.subscribed;
    const [own, shared, subscriptions] = await Promise.all([
      ctx.deps.mail.listMailboxes(user.accountId),
      sharedMailboxes(ctx.deps, user),
      showSubscribed ? ctx.deps.mail.listSubscriptions(user.accountId) : Promise.resolve([]),
    ]);
    const subscribed = new Set(subscriptions);
    // Shared mailboxes carry the session user's subscription, not their owner's.
    const all = [...own, ...shared.map((s) => ({ ...s.mailbox, subscribed: subscribed.has(s.mailbox.name) }))];
    const byName = new Map(all.map((m) => [m.name, m]));
    const roots = namespaceLevels(shared.map((s) => s.mailbox));
    // STATUS needs the r right (RFC 4314 §4).
    const unreadable = new Set(shared.filter((s) => !s.rights.includes('r')).map((s) => s.mailbox.name));
    const parents = parentNames(all);
    const pace = new Pace(LIST_STEPS_PER_TURN, LIST_STEP_LIMIT);
    const matches = (name: string) => patterns.some((p) => p.matches(name, pace));

    const selective = sel.subscribed || sel.specialUse;
    const meets = (name: string): boolean => {
      if (sel.subscribed && !subscribed.has(name)) return false;
      if (sel.specialUse && !specialUse(byName.get(name)?.role ?? null)) return false;
      return true;
    };
    const candidates = new Set([...byName.keys(), ...roots]);
    if (sel.subscribed) for (const name of subscribed) candidates.add(name);
    // RECURSIVEMATCH: which names have descendants meeting the selection, and which of those
    // have one the patterns do not match (only those are listed when they do not meet it).
    const withDescendant = new Set<string>();
    const withUnmatchedDescendant = new Set<string>();
    if (sel.recursiveMatch) {
      for (const name of [...candidates]) {
        if (!meets(name)) continue;
        const matched = matches(name);
        for (const a of ancestors(name)) {
          withDescendant.add(a);
          if (!matched) withUnmatchedDescendant.add(a);
          candidates.add(a);
        }
      }
    }
    const criteria = [...(sel.subscribed ? ['"SUBSCRIBED"'] : []), ...(sel.specialUse ? ['"SPECIAL-USE"'] : [])].join(' ');

    for (const name of sharedLast(listOrder(candidates, all))) {
      if (pace.due()) await pace.turn();
      if (pace.exhausted) return no('The mailbox patterns are too expensive', 'LIMIT');
      if (!matches(name)) continue;
      const ok = !selective || meets(name);
      let childInfo = false;
      if (sel.recursiveMatch) {
        childInfo = ok ? withDescendant.has(name) : withUnmatchedDescendant.has(name);
        if (!ok && !childInfo) continue;
      } else if (!ok) continue;
      const mailbox = byName.get(name);
      const attrs = mailbox
        ? listAttributes(mailbox, parents, { subscribed: showSubscribed, specialUse: true })
        : roots.has(name)
          ? ['\\Noselect', '\\HasChildren']
          : ['\\NonExistent', ...(showSubscribed && subscribed.has(name) ? ['\\Subscribed'] : [])];
      const extra = childInfo ? ` ("CHILDINFO" (${criteria}))` : '';
      ctx.send(`* LIST (${attrs.join(' ')}) "${DELIMITER}" ${ctx.mailboxToWire(name)}${extra}\r\n`);
      // RFC 5819 §2: no STATUS for a name that is not a mailbox.
      if (mailbox && cmd.returns.status && !unreadable.has(name)) ctx.send(await statusLine(ctx, mailbox, cmd.returns.status));
    }
    return ok('LIST completed');
  },
});
