import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * JMAP PushSubscription (RFC 8620 §7.2) and its delivery: the subscriptions of each account, an
 * outbox of push messages that nodes lease row by row so each is sent once however many nodes run
 * (with attempts and the time of the next try for back-off), and the server's VAPID key pair
 * (RFC 8292), made once and shared by every node.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('jmap_push_subscriptions')
    .addColumn('id', ctx.id, ctx.pk)
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('device_client_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('p256dh', 'text')
    .addColumn('auth', 'text')
    .addColumn('verification_code', 'text', (c) => c.notNull())
    .addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires', ctx.bigint, (c) => c.notNull())
    .addColumn('types', 'text')
    .addColumn('created_at', ctx.bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jmap_push_subscriptions_account').on('jmap_push_subscriptions').column('account_id').execute();
  await db.schema
    .createTable('jmap_push_outbox')
    .addColumn('id', ctx.id, ctx.pk)
    .addColumn('subscription_id', ctx.bigint, (c) => c.notNull().references('jmap_push_subscriptions.id').onDelete('cascade'))
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_at', ctx.bigint, (c) => c.notNull())
    .addColumn('lease_until', ctx.bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ctx.bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jmap_push_outbox_due').on('jmap_push_outbox').columns(['next_at', 'id']).execute();
  await db.schema
    .createTable('jmap_vapid')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .execute();
}
