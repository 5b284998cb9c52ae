import MimeNode from 'nodemailer/lib/mime-node';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import { parseHeaderBlock } from '../mime/headers.ts';
import type { MailStore } from '../store.ts';
import type { MailSubmission } from '../submission/submission.ts';
import type { StoredMessage } from '../types.ts';
import { replyTarget } from './reply-target.ts';
import { isActive, type Vacation, type VacationSettings } from './settings.ts';

/** One reply per sender per this period (RFC 3834 §2 suggests a few days; 7 is common practice). */
const REPLY_PERIOD_MS = 7 * 24 * 3600 * 1000;

export interface VacationResponderDeps {
  readonly mail: MailStore;
  readonly settings: VacationSettings;
  readonly submission: Pick<MailSubmission, 'submit'>;
  readonly directory: Pick<Directory, 'addressesOf' | 'getAccount'>;
  /** The host name in generated Message-IDs. */
  readonly hostname: string;
  readonly logger: Logger;
  readonly now: () => number;
}

/**
 * Sends an account's automatic reply (RFC 8621 §8 VacationResponse) for mail delivered into its
 * inbox while it is on, whichever protocol delivered it: it watches the accounts that have one
 * enabled, and answers each new message that qualifies with an `Auto-Submitted: auto-replied`
 * message from the null sender (RFC 3834 §3), once per sender per period (claimed in the store,
 * so several nodes do not all answer).
 */
export class VacationResponder {
  readonly #d: VacationResponderDeps;
  readonly #watching = new Map<number, { stop: () => void; since: number; busy: Promise<void> }>();
  #unsubscribe: (() => void) | undefined;

  constructor(deps: VacationResponderDeps) {
    this.#d = deps;
  }

  /** Starts watching the accounts with an enabled reply, and follows later changes saved on this node. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#d.settings.onSaved((accountId) => this.changed(accountId));
    for (const accountId of await this.#d.settings.enabledAccounts()) await this.changed(accountId);
  }

  /** Re-reads an account's setting and starts or stops watching it. */
  async changed(accountId: number): Promise<void> {
    const v = await this.#d.settings.load(accountId);
    const watching = this.#watching.get(accountId);
    if (!v.isEnabled) {
      watching?.stop();
      this.#watching.delete(accountId);
      return;
    }
    if (watching) return;
    const since = await this.#d.mail.typeState(accountId, 'Email');
    const entry = {
      since,
      busy: Promise.resolve(),
      stop: this.#d.mail.watch(accountId, (change) => {
        if (!change.types.includes('Email')) return;
        entry.busy = entry.busy
          .then(() => this.#process(accountId, entry))
          .catch((err: Error) => this.#d.logger.warn({ err: err.message, account: accountId }, 'vacation reply failed'));
      }),
    };
    this.#watching.set(accountId, entry);
  }

  async #process(accountId: number, entry: { since: number }): Promise<void> {
    const { mail } = this.#d;
    const changes = await mail.changesSince(accountId, 'Email', entry.since, 1000);
    entry.since = changes.newState;
    if (!changes.created.length) return;
    const v = await this.#d.settings.load(accountId);
    const now = this.#d.now();
    if (!isActive(v, now)) return;
    const inbox = await mail.mailboxByRole(accountId, 'inbox');
    if (!inbox) return;
    const boxes = await mail.mailboxIdsOf(changes.created);
    const own = await this.#d.directory.addressesOf(accountId);
    const account = await this.#d.directory.getAccount(accountId);
    if (!account) return;
    for (const message of await mail.getMessages(
      accountId,
      changes.created.filter((id) => boxes.get(id)?.includes(inbox.id)),
    )) {
      const head = await mail.blobs.range(message.blobId, 0, message.meta.root.bodyStart);
      const target = replyTarget(parseHeaderBlock(head, 0, head.length).fields, own);
      if (!target || !(await this.#d.settings.claimReply(accountId, target, now, REPLY_PERIOD_MS))) continue;
      await this.#reply(accountId, account.address, account.displayName, target, message, v);
    }
  }

  async #reply(accountId: number, address: string, displayName: string, to: string, original: StoredMessage, v: Vacation): Promise<void> {
    const text = v.textBody ?? (v.htmlBody ? null : 'I am away and will read your message when I am back.');
    const root = new MimeNode(text !== null && v.htmlBody ? 'multipart/alternative' : v.htmlBody ? 'text/html' : 'text/plain', {
      hostname: this.#d.hostname,
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
    const outcome = await this.#d.submission.submit({ accountId, sender: '', recipients: [to], message: await root.build() });
    this.#d.logger.info({ account: accountId, ok: outcome.ok }, 'vacation reply');
  }

  stop(): void {
    this.#unsubscribe?.();
    for (const w of this.#watching.values()) w.stop();
    this.#watching.clear();
  }
}
