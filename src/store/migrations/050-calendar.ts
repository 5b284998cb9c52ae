import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Calendars, calendar object resources (one UID each, CalDAV-style, RFC 4791 §4.1) indexed by the
 * time span they can occupy, free/busy sharing rules, and the assertion replay cache.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('calendars')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('include_in_freebusy', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('source_url', 'text')
    .addColumn('refresh_interval', bigint)
    .addColumn('next_refresh_at', bigint)
    .addColumn('last_refresh_at', bigint)
    .addColumn('last_error', 'text')
    .addColumn('source_etag', 'text')
    .addColumn('modseq', bigint, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('calendars_account_name', ['account_id', 'name'])
    .execute();
  await db.schema.createIndex('calendars_refresh').on('calendars').column('next_refresh_at').execute();

  await db.schema
    .createTable('calendar_objects')
    .addColumn('id', id, pk)
    .addColumn('calendar_id', bigint, (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('component', 'text', (c) => c.notNull())
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('ics', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('expand', 'integer', (c) => c.notNull())
    .addColumn('fbtype', 'text')
    .addColumn('start_at', bigint, (c) => c.notNull())
    .addColumn('end_at', bigint, (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('calendar_objects_name', ['calendar_id', 'name'])
    .addUniqueConstraint('calendar_objects_uid', ['calendar_id', 'uid'])
    .execute();
  await db.schema.createIndex('calendar_objects_span').on('calendar_objects').columns(['account_id', 'start_at', 'end_at']).execute();

  await db.schema
    .createTable('freebusy_sharing')
    .addColumn('account_id', bigint, (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('allow', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('freebusy_replay')
    .addColumn('replay_key', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('freebusy_replay_expiry').on('freebusy_replay').column('expires_at').execute();
}
