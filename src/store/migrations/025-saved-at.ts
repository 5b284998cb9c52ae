import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * When each message was saved into each mailbox (IMAP SAVEDATE, RFC 8514): set by APPEND, COPY,
 * MOVE and delivery. Rows from before this migration take their message's creation time.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('mailbox_messages').addColumn('saved_at', ctx.bigint).execute();
  await sql`update mailbox_messages set saved_at = (select created_at from messages where messages.id = mailbox_messages.message_id)`.execute(
    db,
  );
}
