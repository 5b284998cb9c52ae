import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * IMAP4rev1 \Recent (RFC 3501 §2.3.2): messages with a UID at or above `first_recent_uid` are new
 * and not yet claimed by a session. Existing messages count as seen by some session already.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .alterTable('mailboxes')
    .addColumn('first_recent_uid', ctx.bigint, (c) => c.notNull().defaultTo(1))
    .execute();
  await sql`update mailboxes set first_recent_uid = uidnext`.execute(db);
}
