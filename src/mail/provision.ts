import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { nextUidValidity } from './uidvalidity.ts';

/** The mailboxes every new account gets, with their RFC 6154 special use as a JMAP role. */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; role: string | null; order: number }> = [
  { name: 'INBOX', role: 'inbox', order: 1 },
  { name: 'Drafts', role: 'drafts', order: 2 },
  { name: 'Sent', role: 'sent', order: 3 },
  { name: 'Archive', role: 'archive', order: 4 },
  { name: 'Junk', role: 'junk', order: 5 },
  { name: 'Trash', role: 'trash', order: 6 },
];

/** Creates the default special-use mailboxes for a new account (idempotent). */
export async function provisionMailboxes(db: Kysely<Database>, accountId: number, now = Date.now()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const existing = new Set(
      (await trx.selectFrom('mailboxes').select('name').where('account_id', '=', accountId).execute()).map((r) => r.name),
    );
    for (const mb of DEFAULT_MAILBOXES) {
      if (existing.has(mb.name)) continue;
      await trx
        .insertInto('mailboxes')
        .values({
          account_id: accountId,
          name: mb.name,
          role: mb.role,
          uidvalidity: await nextUidValidity(trx, now),
          uidnext: 1,
          highest_modseq: 1,
          sort_order: mb.order,
          created_at: now,
          modseq: 1,
        })
        .execute();
      // The default mailboxes start subscribed (RFC 9051 §6.3.7 leaves the initial list to the server).
      await trx
        .insertInto('subscriptions')
        .values({ account_id: accountId, name: mb.name, created_at: now })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  });
}
