import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Per-user \Seen on shared mailboxes (RFC 4314 §4, the "s" right):
 * one row per message an account other than its owner has read. The owner's \Seen stays in
 * `messages.keywords`. A row goes with its message or with the reading account.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_private_seen')
    .addColumn('message_id', ctx.bigint, (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('mail_private_seen_pk', ['message_id', 'account_id'])
    .execute();
  await db.schema.createIndex('mail_private_seen_account').on('mail_private_seen').columns(['account_id', 'message_id']).execute();
}
