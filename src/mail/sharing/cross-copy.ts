import type { AppendItem, MailStore } from '../store.ts';
import type { StoredMessage } from '../types.ts';

/** Messages copied per store transaction: bounds the message bytes held at once. */
const BATCH = 50;

/**
 * Copies messages into a mailbox of another account (IMAP COPY into a shared mailbox, RFC 4314
 * §4; JMAP Email/copy, RFC 8620 §5.4): each becomes a new message of the target account with the
 * same bytes (the blob is shared), internal date and the keywords `keep` lets through.
 * `messages` are the source's messages in the order wanted; returns the new ids and UIDs in order.
 */
export async function copyToAccount(
  mail: Pick<MailStore, 'readRaw' | 'appendMany'>,
  messages: readonly StoredMessage[],
  to: { readonly accountId: number; readonly mailboxId: number },
  keep: (keywords: readonly string[]) => string[],
): Promise<Array<{ messageId: number; uid: number; uidValidity: number }>> {
  const out: Array<{ messageId: number; uid: number; uidValidity: number }> = [];
  for (let i = 0; i < messages.length; i += BATCH) {
    const items: AppendItem[] = [];
    for (const m of messages.slice(i, i + BATCH)) {
      items.push({ raw: await mail.readRaw(m), keywords: keep(m.keywords), receivedAt: m.receivedAt });
    }
    for (const r of await mail.appendMany(to.accountId, to.mailboxId, items)) out.push(r);
  }
  return out;
}
