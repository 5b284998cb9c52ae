import { bad, command, no, ok, type Tagged } from '../context.ts';
import { Notifier, type NotifyEvent, type NotifyRule, SUPPORTED_EVENTS } from '../notify.ts';
import { SIGNED_IN, userOf } from '../state.ts';

const BY_NAME = new Map<string, NotifyEvent>(SUPPORTED_EVENTS.map((e) => [e.toUpperCase(), e]));
/** Events RFC 5465 §5 defines that this server does not report (no ANNOTATE, RFC 5257). */
const KNOWN_UNSUPPORTED = new Set(['ANNOTATIONCHANGE', 'QUOTACHANGE']);

/**
 * NOTIFY SET / NONE (RFC 5465 §3): replaces the session's notification rules. MessageNew and
 * MessageExpunge go together and FlagChange needs them (RFC 5465 §5, BAD otherwise); fetch
 * attributes only for the selected mailbox; an event this server does not report is
 * `NO [BADEVENT (supported …)]`; `SET STATUS` sends the mailboxes' STATUS at once.
 */
export const notify = command({
  names: ['NOTIFY'],
  states: SIGNED_IN,
  async run(ctx, cmd): Promise<Tagged> {
    const user = userOf(ctx.state)!;
    if (!cmd.set) {
      ctx.setNotifier(null);
      return ok('NOTIFY completed');
    }
    const rules: NotifyRule[] = [];
    for (const g of cmd.set.groups) {
      const events = new Set<NotifyEvent>();
      for (const sent of g.events) {
        const e = BY_NAME.get(sent.toUpperCase());
        if (!e) {
          if (KNOWN_UNSUPPORTED.has(sent.toUpperCase()) || /^[A-Za-z-]+$/.test(sent))
            return no('Event not supported', `BADEVENT (${SUPPORTED_EVENTS.join(' ')})`);
          return bad('Invalid event');
        }
        events.add(e);
      }
      if (events.has('MessageNew') !== events.has('MessageExpunge')) return bad('MessageNew and MessageExpunge go together', 'CLIENTBUG');
      if (events.has('FlagChange') && !events.has('MessageNew')) return bad('FlagChange needs MessageNew and MessageExpunge', 'CLIENTBUG');
      const selected = g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED';
      if (g.fetch && !selected) return bad('Fetch attributes are for the selected mailbox only', 'CLIENTBUG');
      const names: string[] = [];
      for (const wire of 'mailboxes' in g.filter ? g.filter.mailboxes : []) {
        const name = ctx.mailboxFromWire(wire);
        if (name === null) return bad('Invalid mailbox name', 'CLIENTBUG');
        names.push(name);
      }
      rules.push({ kind: g.filter.kind, names, events, fetch: g.fetch });
    }
    const notifier = new Notifier(rules);
    const initial = await notifier.start(ctx, user.accountId, cmd.set.status);
    ctx.setNotifier(notifier);
    if (initial) ctx.send(initial);
    return ok('NOTIFY completed');
  },
});
