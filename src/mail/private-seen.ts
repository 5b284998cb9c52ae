import type { Trx } from './unit-of-work.ts';

/**
 * Per-user \Seen on shared mailboxes (RFC 4314 §4 "s"): an account reading another
 * account's mailbox keeps its own \Seen in `mail_private_seen` (migration 086); the owner's stays
 * in the message's keywords. Every other keyword is shared. Readers see the owner's keywords with
 * `$seen` replaced by their own.
 */

const PAGE = 500;

/** The messages of `messageIds` that `viewer` has read (its own \Seen). */
export async function seenBy(db: Trx, viewer: number, messageIds: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (let i = 0; i < messageIds.length; i += PAGE) {
    const rows = await db
      .selectFrom('mail_private_seen')
      .select('message_id')
      .where('account_id', '=', viewer)
      .where('message_id', 'in', messageIds.slice(i, i + PAGE) as number[])
      .execute();
    for (const r of rows) out.add(r.message_id);
  }
  return out;
}

/** The messages of a mailbox (`{ mailboxId }`) or of an account (`{ ownerId }`) that `viewer` has read (its own \Seen). */
export async function seenIn(db: Trx, viewer: number, where: { mailboxId: number } | { ownerId: number }): Promise<Set<number>> {
  const q = db.selectFrom('mail_private_seen as s').select('s.message_id').where('s.account_id', '=', viewer);
  const rows =
    'mailboxId' in where
      ? await q.innerJoin('mailbox_messages as mm', 'mm.message_id', 's.message_id').where('mm.mailbox_id', '=', where.mailboxId).execute()
      : await q.innerJoin('messages as m', 'm.id', 's.message_id').where('m.account_id', '=', where.ownerId).execute();
  return new Set(rows.map((r) => Number(r.message_id)));
}

/** Records whether `viewer` has read a message. */
export async function setSeenBy(trx: Trx, viewer: number, messageId: number, seen: boolean): Promise<void> {
  if (seen)
    await trx
      .insertInto('mail_private_seen')
      .values({ message_id: messageId, account_id: viewer })
      .onConflict((oc) => oc.doNothing())
      .execute();
  else await trx.deleteFrom('mail_private_seen').where('message_id', '=', messageId).where('account_id', '=', viewer).execute();
}

/** `keywords` (sorted, lower-case) with `$seen` as `seen` says: what a reader who is not the owner sees. */
export function withSeen(keywords: readonly string[], seen: boolean): string[] {
  const out = keywords.filter((k) => k !== '$seen');
  if (seen) {
    out.push('$seen');
    out.sort();
  }
  return out;
}
