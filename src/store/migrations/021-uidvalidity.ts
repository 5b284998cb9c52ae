import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * One server-wide UIDVALIDITY counter (RFC 9051 §2.3.1.1): every mailbox created or renamed takes
 * the next value in the transaction that writes it, so no name ever sees a value again, on any
 * node. It starts above every value already handed out (those were epoch seconds).
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_counters')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', ctx.bigint, (c) => c.notNull())
    .execute();
  await sql`insert into mail_counters (name, value) select 'uidvalidity', coalesce(max(uidvalidity), 0) from mailboxes`.execute(db);
}
