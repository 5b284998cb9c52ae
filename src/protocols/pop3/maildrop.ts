import type { Pop3MailView } from '../../mail/views.ts';

/** One message of the maildrop as POP3 numbers it (RFC 1939 §5: 1-based, fixed for the session). */
export interface DropMessage {
  readonly uid: number;
  readonly messageId: number;
  readonly size: number;
  /** RFC 1939 §7 UIDL: 1–70 characters 0x21–0x7E, stable across sessions: UIDVALIDITY and UID. */
  readonly uidl: string;
}

/** A snapshot of an account's INBOX taken at login, read and expunged through the mail store. */
export class Maildrop {
  readonly #store: Pop3MailView;
  readonly accountId: number;
  readonly mailboxId: number;
  readonly messages: readonly DropMessage[];

  constructor(store: Pop3MailView, accountId: number, mailboxId: number, messages: DropMessage[]) {
    this.#store = store;
    this.accountId = accountId;
    this.mailboxId = mailboxId;
    this.messages = messages;
  }

  static async open(store: Pop3MailView, accountId: number): Promise<Maildrop | undefined> {
    const inbox = (await store.mailboxByRole(accountId, 'inbox')) ?? (await store.getMailbox(accountId, 'INBOX'));
    if (!inbox) return undefined;
    const entries = await store.listEntries(inbox.id);
    const messages = entries.map((e) => ({ uid: e.uid, messageId: e.messageId, size: e.size, uidl: `${inbox.uidValidity}.${e.uid}` }));
    return new Maildrop(store, accountId, inbox.id, messages);
  }

  async raw(message: DropMessage): Promise<Buffer> {
    const [stored] = await this.#store.getMessages(this.accountId, [message.messageId]);
    if (!stored) throw new Error('message vanished');
    return this.#store.readRaw(stored);
  }

  /** Removes the messages marked deleted (the UPDATE state, RFC 1939 §6). */
  async expunge(uids: readonly number[]): Promise<void> {
    if (uids.length) await this.#store.expunge(this.accountId, this.mailboxId, { uids });
  }
}
