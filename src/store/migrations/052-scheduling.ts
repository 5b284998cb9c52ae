import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Scheduling (RFC 6638): a calendar's kind (`calendar`, or `inbox` for the scheduling inbox of
 * §2.2, which holds delivered iTIP messages and never counts for free/busy), and the Schedule-Tag
 * (§3.2.10) of scheduling object resources.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .alterTable('calendars')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('calendar'))
    .execute();
  await db.schema.alterTable('calendar_objects').addColumn('schedule_tag', 'text').execute();
  await db.schema.createIndex('calendar_objects_account_uid').on('calendar_objects').columns(['account_id', 'uid']).execute();
}
