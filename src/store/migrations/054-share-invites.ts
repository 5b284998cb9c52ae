import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Share invitations the calendarserver way: a share starts as an invite the sharee accepts or
 * declines (`status`: pending, accepted, declined; shares made before this stay accepted), with
 * the owner's summary for the notification; and address books shared the same way.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { bigint } = ctx;
  await db.schema
    .alterTable('calendar_shares')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('accepted'))
    .execute();
  await db.schema
    .alterTable('calendar_shares')
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createTable('addressbook_shares')
    .addColumn('addressbook_id', bigint, (c) => c.notNull().references('addressbooks.id').onDelete('cascade'))
    .addColumn('sharee_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('access', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('addressbook_shares_pk', ['addressbook_id', 'sharee_id'])
    .execute();
  await db.schema.createIndex('addressbook_shares_sharee').on('addressbook_shares').column('sharee_id').execute();
}
