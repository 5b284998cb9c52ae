import type { Mailbox } from '../../mail/types.ts';
import type { CommandContext } from './context.ts';
import { DELIMITER } from './mailboxes.ts';
import { readerOf } from './private-seen.ts';
import { userOf } from './state.ts';
import type { FetchItem, NotifyGroup } from './wire/types.ts';

/**
 * NOTIFY (RFC 5465) for one session: which mailboxes the client asked about and what it last
 * heard of them. On every store change event (they cross nodes) `deliver` compares the account's
 * mailboxes and subscriptions with that picture and returns `LIST` lines for MailboxName and
 * SubscriptionChange (RFC 5465 §5.4, §5.5) and `STATUS` lines for message events in mailboxes
 * other than the selected one (RFC 5465 §5.2, §5.3); the selected mailbox gets the usual
 * EXISTS/EXPUNGE/FETCH pushed by the session. Changed METADATA entries go out as unsolicited
 * `METADATA` responses naming them (RFC 5465 §5.9, §5.10; RFC 5464 §4.4.2).
 */

/** The events this server can report (RFC 5465 §5); others are NO [BADEVENT]. */
export const SUPPORTED_EVENTS = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
] as const;
export type NotifyEvent = (typeof SUPPORTED_EVENTS)[number];

/** An event group with mailbox names decoded to store names. */
export interface NotifyRule {
  readonly kind: NotifyGroup['filter']['kind'];
  readonly names: readonly string[];
  readonly events: ReadonlySet<NotifyEvent>;
  readonly fetch: readonly FetchItem[] | null;
}

interface Known {
  readonly name: string;
  readonly highestModseq: number;
  /** The `(…)` of the last STATUS sent, or null when none was. */
  status: string | null;
}

const inboxName = (n: string): string => (n.toUpperCase() === 'INBOX' ? 'INBOX' : n);

export class Notifier {
  readonly rules: readonly NotifyRule[];
  /** Set by change events; `deliver` clears it. */
  pending = false;
  #boxes = new Map<number, Known>();
  #subscriptions = new Set<string>();
  /** The account's METADATA entries as last seen, `mailboxId name` → stored value; null when no rule wants them. */
  #metadata: Map<string, string> | null = null;

  constructor(rules: readonly NotifyRule[]) {
    this.rules = rules;
  }

  /** The rule for the selected mailbox (SELECTED or SELECTED-DELAYED), if any has message events. */
  get selected(): NotifyRule | undefined {
    return this.rules.find((r) => (r.kind === 'SELECTED' || r.kind === 'SELECTED-DELAYED') && r.events.has('MessageNew'));
  }

  /** The first non-selected rule whose filter takes in this mailbox (RFC 5465 §6). */
  #ruleFor(name: string, role: string | null, subscribed: ReadonlySet<string>): NotifyRule | undefined {
    return this.rules.find((r) => {
      switch (r.kind) {
        case 'SELECTED':
        case 'SELECTED-DELAYED':
          return false;
        case 'PERSONAL':
          return true;
        case 'INBOXES':
          return role === 'inbox';
        case 'SUBSCRIBED':
          return subscribed.has(name);
        case 'MAILBOXES':
          return r.names.some((n) => inboxName(n) === name);
        case 'SUBTREE':
          return r.names.some((n) => inboxName(n) === name || name.startsWith(`${n}${DELIMITER}`));
      }
      return false;
    });
  }

  #wants(event: NotifyEvent, name: string, role: string | null, subscribed: ReadonlySet<string>): boolean {
    return this.#ruleFor(name, role, subscribed)?.events.has(event) ?? false;
  }

  /** True when some group asks for METADATA events of either kind. */
  get #watchesMetadata(): boolean {
    return this.rules.some((r) => r.events.has('MailboxMetadataChange') || r.events.has('ServerMetadataChange'));
  }

  async #metadataNow(ctx: CommandContext, accountId: number): Promise<Map<string, string>> {
    const entries = await ctx.deps.mail.metadata.all(accountId);
    return new Map(entries.map((e) => [`${e.mailboxId} ${e.name}`, e.value]));
  }

  /**
   * `* METADATA` lines for entries set, changed or removed since the last look (RFC 5464 §4.4.2):
   * the server's for ServerMetadataChange in any group (it belongs to no mailbox), a mailbox's for
   * the group whose filter takes it in with MailboxMetadataChange (RFC 5465 §5.9, §5.10).
   */
  async #metadataChanges(ctx: CommandContext, accountId: number, boxes: readonly Mailbox[], subs: ReadonlySet<string>): Promise<string> {
    if (!this.#metadata) return '';
    const now = await this.#metadataNow(ctx, accountId);
    const changed = new Map<number, string[]>();
    for (const key of new Set([...this.#metadata.keys(), ...now.keys()])) {
      if (this.#metadata.get(key) === now.get(key)) continue;
      const at = key.indexOf(' ');
      const id = Number(key.slice(0, at));
      changed.set(id, [...(changed.get(id) ?? []), key.slice(at + 1)]);
    }
    this.#metadata = now;
    let out = '';
    for (const [id, names] of changed) {
      const entries = names.sort().join(' ');
      if (id === 0) {
        if (this.rules.some((r) => r.events.has('ServerMetadataChange'))) out += `* METADATA "" ${entries}\r\n`;
        continue;
      }
      const box = boxes.find((b) => b.id === id);
      if (box && this.#wants('MailboxMetadataChange', box.name, box.role, subs))
        out += `* METADATA ${ctx.mailboxToWire(box.name)} ${entries}\r\n`;
    }
    return out;
  }

  /**
   * Takes the account's current picture. With `status` (NOTIFY SET STATUS, RFC 5465 §3) returns a
   * STATUS line for every mailbox with message events, the selected one excepted.
   */
  async start(ctx: CommandContext, accountId: number, status: boolean): Promise<string> {
    const [boxes, subs] = await Promise.all([ctx.deps.mail.listMailboxes(accountId), ctx.deps.mail.listSubscriptions(accountId)]);
    this.#subscriptions = new Set(subs);
    if (this.#watchesMetadata) this.#metadata = await this.#metadataNow(ctx, accountId);
    let out = '';
    for (const b of boxes) {
      const known: Known = { name: b.name, highestModseq: b.highestModseq, status: null };
      this.#boxes.set(b.id, known);
      if (status && this.#wants('MessageNew', b.name, b.role, this.#subscriptions) && !isSelected(ctx, b.id)) {
        known.status = await statusItems(ctx, b);
        out += `* STATUS ${ctx.mailboxToWire(b.name)} (${known.status})\r\n`;
      }
    }
    return out;
  }

  /** What changed since the last call, as untagged responses. */
  async deliver(ctx: CommandContext, accountId: number): Promise<string> {
    this.pending = false;
    const [boxes, subList] = await Promise.all([ctx.deps.mail.listMailboxes(accountId), ctx.deps.mail.listSubscriptions(accountId)]);
    const subs = new Set(subList);
    const byId = new Map(boxes.map((b) => [b.id, b]));
    const roleOf = new Map(boxes.map((b) => [b.name, b.role]));
    let out = '';
    const list = (attrs: string, name: string, extra = '') => `* LIST (${attrs}) "${DELIMITER}" ${ctx.mailboxToWire(name)}${extra}\r\n`;
    // MailboxName (RFC 5465 §5.4): deleted, created, renamed (with OLDNAME, RFC 5465 §7.1).
    for (const [id, known] of this.#boxes) {
      if (byId.has(id)) continue;
      if (this.#wants('MailboxName', known.name, null, this.#subscriptions)) out += list('\\NonExistent', known.name);
      this.#boxes.delete(id);
    }
    for (const b of boxes) {
      const known = this.#boxes.get(b.id);
      const wanted =
        this.#wants('MailboxName', b.name, b.role, subs) || (known && this.#wants('MailboxName', known.name, null, this.#subscriptions));
      if (!known) {
        if (wanted) out += list(subs.has(b.name) ? '\\Subscribed' : '', b.name);
        this.#boxes.set(b.id, { name: b.name, highestModseq: b.highestModseq, status: null });
      } else if (known.name !== b.name) {
        if (wanted) out += list('', b.name, ` ("OLDNAME" (${ctx.mailboxToWire(known.name)}))`);
        this.#boxes.set(b.id, { ...known, name: b.name });
      }
    }
    // SubscriptionChange (RFC 5465 §5.5): a LIST with or without \Subscribed.
    for (const name of subs)
      if (!this.#subscriptions.has(name) && this.#wants('SubscriptionChange', name, roleOf.get(name) ?? null, subs))
        out += list('\\Subscribed', name);
    for (const name of this.#subscriptions)
      if (!subs.has(name) && this.#wants('SubscriptionChange', name, roleOf.get(name) ?? null, this.#subscriptions)) out += list('', name);
    this.#subscriptions = subs;
    // Message events in other mailboxes (RFC 5465 §5.2, §5.3): STATUS when what it shows moved.
    for (const b of boxes) {
      const known = this.#boxes.get(b.id)!;
      if (known.highestModseq === b.highestModseq) continue;
      this.#boxes.set(b.id, { ...known, highestModseq: b.highestModseq });
      const rule = this.#ruleFor(b.name, b.role, subs);
      if (!rule?.events.has('MessageNew') || isSelected(ctx, b.id)) continue;
      const status = await statusItems(ctx, b);
      const before = known.status;
      this.#boxes.get(b.id)!.status = status;
      // Without FlagChange only MESSAGES and UIDNEXT matter (RFC 5465 §5.2, §5.3).
      const moved = before === null || (rule.events.has('FlagChange') ? before !== status : countsPart(before) !== countsPart(status));
      if (moved) out += `* STATUS ${ctx.mailboxToWire(b.name)} (${status})\r\n`;
    }
    return out + (await this.#metadataChanges(ctx, accountId, boxes, subs));
  }
}

function isSelected(ctx: CommandContext, mailboxId: number): boolean {
  return ctx.state.kind === 'selected' && ctx.state.mailbox.id === mailboxId;
}

/** `MESSAGES n UIDNEXT n UNSEEN n` (and `HIGHESTMODSEQ n` once CONDSTORE is on, RFC 5465 §5.4). */
async function statusItems(ctx: CommandContext, b: Mailbox): Promise<string> {
  const counts = await ctx.deps.mail.mailboxCounts(b.id, readerOf(b.accountId, userOf(ctx.state)!.accountId));
  return `MESSAGES ${counts.messages} UIDNEXT ${b.uidNext} UNSEEN ${counts.unseen}${ctx.condstore ? ` HIGHESTMODSEQ ${b.highestModseq}` : ''}`;
}

function countsPart(status: string): string {
  return status.replace(/ UNSEEN .*$/, '');
}
