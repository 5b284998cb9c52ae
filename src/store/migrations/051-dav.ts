import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * WebDAV collections: calendar properties clients set (RFC 4791 §5.2, color, description, the
 * supported component set), tombstones of removed calendar objects so that sync tokens (RFC 6578)
 * answer deletions after a restart and on every node, and CardDAV address books with their vCards
 * (RFC 6352 §5) and tombstones.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema.alterTable('calendars').addColumn('color', 'text').execute();
  await db.schema.alterTable('calendars').addColumn('description', 'text').execute();
  await db.schema
    .alterTable('calendars')
    .addColumn('components', 'text', (c) => c.notNull().defaultTo('VEVENT,VTODO,VJOURNAL'))
    .execute();

  await db.schema
    .createTable('calendar_tombstones')
    .addColumn('id', id, pk)
    .addColumn('calendar_id', bigint, (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('deleted_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('calendar_tombstones_seq').on('calendar_tombstones').columns(['calendar_id', 'modseq']).execute();

  await db.schema
    .createTable('addressbooks')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'text')
    .addColumn('modseq', bigint, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('addressbooks_account_name', ['account_id', 'name'])
    .execute();

  await db.schema
    .createTable('address_objects')
    .addColumn('id', id, pk)
    .addColumn('addressbook_id', bigint, (c) => c.notNull().references('addressbooks.id').onDelete('cascade'))
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('vcard', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    /** Lower-cased EMAIL values, one per line, for the "my contacts" sharing rule. */
    .addColumn('emails', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('address_objects_name', ['addressbook_id', 'name'])
    .addUniqueConstraint('address_objects_uid', ['addressbook_id', 'uid'])
    .execute();
  await db.schema.createIndex('address_objects_account').on('address_objects').column('account_id').execute();

  await db.schema
    .createTable('address_tombstones')
    .addColumn('id', id, pk)
    .addColumn('addressbook_id', bigint, (c) => c.notNull().references('addressbooks.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('deleted_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('address_tombstones_seq').on('address_tombstones').columns(['addressbook_id', 'modseq']).execute();
}
