import MimeNode from 'nodemailer/lib/mime-node';
import type { StoredMessage } from '../../../mail/types.ts';
import type { JmapServices } from '../context.ts';
import { addressesOf, type RawHeader, rawHeaders } from '../email/headers.ts';
import { isActive, loadVacation } from './store.ts';

/** One reply per sender per this period (RFC 3834 §2 suggests a few days; 7 is common practice). */
const REPLY_PERIOD_MS = 7 * 24 * 3600 * 1000;
/** Local parts that are never people (RFC 3834 §2, list and bounce addresses). */
const ROBOTS =
  /^(mailer-daemon|postmaster|listserv|majordomo|noreply|no-reply|do-not-reply|donotreply|bounces?|owner-.*|.*-request|.*-bounces?)$/i;

function header(headers: readonly RawHeader[], name: string): string | undefined {
  return headers
    .filter((h) => h.name.toLowerCase() === name)
    .at(-1)
    ?.value.trim();
}

/**
 * Whether a delivered message deserves an automatic reply, and to whom (RFC 3834 §2, §3.1):
 * never to automatic or list mail, never to robots or the account itself, only when one of the
 * account's addresses is a direct recipient.
 */
export function replyTarget(headers: readonly RawHeader[], own: readonly string[]): string | undefined {
  const auto = header(headers, 'auto-submitted');
  if (auto && auto.toLowerCase() !== 'no') return undefined;
  if (/^(bulk|list|junk)$/i.test(header(headers, 'precedence') ?? '')) return undefined;
  if (headers.some((h) => /^list-(id|unsubscribe|post)$/i.test(h.name))) return undefined;
  if (header(headers, 'received') === undefined) return undefined;
  const returnPath = header(headers, 'return-path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath)) return undefined;
  const target = (returnPath ? addressesOf(returnPath)[0]?.email : undefined) ?? addressesOf(header(headers, 'from') ?? '')[0]?.email;
  if (!target?.includes('@')) return undefined;
  const lowerOwn = own.map((a) => a.toLowerCase());
  if (lowerOwn.includes(target.toLowerCase()) || ROBOTS.test(target.slice(0, target.lastIndexOf('@')))) return undefined;
  const direct = [...addressesOf(header(headers, 'to') ?? ''), ...addressesOf(header(headers, 'cc') ?? '')].map((a) =>
    a.email.toLowerCase(),
  );
  if (!direct.some((a) => lowerOwn.includes(a))) return undefined;
  return target;
}

/**
 * Sends the VacationResponse (RFC 8621 §8) for mail delivered into an account's inbox while it
 * is on: it watches the accounts that have one enabled, and answers each new message that
 * qualifies with an `Auto-Submitted: auto-replied` message from the null sender (RFC 3834 §3),
 * once per sender per period (recorded in the store, so several nodes do not all answer).
 */
export class VacationResponder {
  readonly #services: JmapServices;
  readonly #watching = new Map<number, { stop: () => void; since: number; busy: Promise<void> }>();

  constructor(services: JmapServices) {
    this.#services = services;
  }

  async start(): Promise<void> {
    const rows = await this.#services.db.kysely.selectFrom('jmap_vacation').select('account_id').where('is_enabled', '=', 1).execute();
    for (const r of rows) await this.changed(r.account_id);
  }

  /** Re-reads an account's setting (after VacationResponse/set) and starts or stops watching it. */
  async changed(accountId: number): Promise<void> {
    const v = await loadVacation(this.#services, accountId);
    const watching = this.#watching.get(accountId);
    if (!v.isEnabled) {
      watching?.stop();
      this.#watching.delete(accountId);
      return;
    }
    if (watching) return;
    const since = await this.#services.mail.typeState(accountId, 'Email');
    const entry = {
      since,
      busy: Promise.resolve(),
      stop: this.#services.mail.watch(accountId, (change) => {
        if (!change.types.includes('Email')) return;
        entry.busy = entry.busy
          .then(() => this.#process(accountId, entry))
          .catch((err: Error) => this.#services.logger.warn({ err: err.message, account: accountId }, 'vacation reply failed'));
      }),
    };
    this.#watching.set(accountId, entry);
  }

  async #process(accountId: number, entry: { since: number }): Promise<void> {
    const { mail } = this.#services;
    const changes = await mail.changesSince(accountId, 'Email', entry.since, 1000);
    entry.since = changes.newState;
    if (!changes.created.length) return;
    const v = await loadVacation(this.#services, accountId);
    const now = this.#services.now();
    if (!isActive(v, now)) return;
    const inbox = await mail.mailboxByRole(accountId, 'inbox');
    if (!inbox) return;
    const boxes = await mail.mailboxIdsOf(changes.created);
    const own = await this.#services.directory.addressesOf(accountId);
    const account = await this.#services.directory.getAccount(accountId);
    if (!account) return;
    for (const message of await mail.getMessages(
      accountId,
      changes.created.filter((id) => boxes.get(id)?.includes(inbox.id)),
    )) {
      const head = await this.#services.blobs.range(message.blobId, 0, message.meta.root.bodyStart);
      const headers = rawHeaders(head, 0, head.length);
      const target = replyTarget(headers, own);
      if (!target || !(await this.#claim(accountId, target, now))) continue;
      await this.#reply(accountId, account.address, account.displayName, target, message, headers, v);
    }
  }

  /** Records a reply to `sender` unless one went out within the period; true when this node may send. */
  async #claim(accountId: number, sender: string, now: number): Promise<boolean> {
    const key = sender.toLowerCase();
    return this.#services.db.kysely.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('jmap_vacation_replies')
        .select('sent_at')
        .where('account_id', '=', accountId)
        .where('sender', '=', key)
        .executeTakeFirst();
      if (row && row.sent_at > now - REPLY_PERIOD_MS) return false;
      if (row)
        await trx
          .updateTable('jmap_vacation_replies')
          .set({ sent_at: now })
          .where('account_id', '=', accountId)
          .where('sender', '=', key)
          .execute();
      else await trx.insertInto('jmap_vacation_replies').values({ account_id: accountId, sender: key, sent_at: now }).execute();
      return true;
    });
  }

  async #reply(
    accountId: number,
    address: string,
    displayName: string,
    to: string,
    original: StoredMessage,
    headers: readonly RawHeader[],
    v: Awaited<ReturnType<typeof loadVacation>>,
  ): Promise<void> {
    const text = v.textBody ?? (v.htmlBody ? null : 'I am away and will read your message when I am back.');
    const root = new MimeNode(text !== null && v.htmlBody ? 'multipart/alternative' : v.htmlBody ? 'text/html' : 'text/plain', {
      hostname: this.#services.config.server.hostname,
      newline: '\r\n',
    });
    root.setHeader('From', [{ name: displayName, address }]);
    root.setHeader('To', [{ name: '', address: to }]);
    root.setHeader('Subject', v.subject ?? `Auto: ${original.meta.subject || '(no subject)'}`.slice(0, 500));
    root.setHeader('Auto-Submitted', 'auto-replied');
    const messageId = original.meta.messageId;
    if (messageId) {
      root.setHeader('In-Reply-To', `<${messageId}>`);
      root.setHeader('References', [...original.meta.references, messageId].map((r) => `<${r}>`).join(' '));
    }
    if (text !== null && v.htmlBody) {
      root.createChild('text/plain').setContent(text);
      root.createChild('text/html').setContent(v.htmlBody);
    } else root.setContent(v.htmlBody ?? text ?? '');
    const outcome = await this.#services.submission.submit({ accountId, sender: '', recipients: [to], message: await root.build() });
    this.#services.logger.info({ account: accountId, ok: outcome.ok, header: headers.length }, 'vacation reply');
  }

  stop(): void {
    for (const w of this.#watching.values()) w.stop();
    this.#watching.clear();
  }
}
