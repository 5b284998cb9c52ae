import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Subscriptions as their own list of names (RFC 9051 §6.3.7–6.3.8, RFC 5258 §3.1): a name stays
 * subscribed when its mailbox is deleted, and a new mailbox is not subscribed by being created.
 * The flag on `mailboxes` it replaces is carried over, then dropped.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('subscriptions')
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('subscriptions_pk', ['account_id', 'name'])
    .execute();
  await sql`insert into subscriptions (account_id, name, created_at)
    select account_id, name, created_at from mailboxes where subscribed = 1`.execute(db);
  await db.schema.alterTable('mailboxes').dropColumn('subscribed').execute();
}
