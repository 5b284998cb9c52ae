import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Calendars an owner shares with other accounts of its domain (the calendarserver sharing model
 * clients speak over CalDAV): one row per sharee, read or read-write.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { bigint } = ctx;
  await db.schema
    .createTable('calendar_shares')
    .addColumn('calendar_id', bigint, (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('sharee_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('access', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('calendar_shares_pk', ['calendar_id', 'sharee_id'])
    .execute();
  await db.schema.createIndex('calendar_shares_sharee').on('calendar_shares').column('sharee_id').execute();
}
