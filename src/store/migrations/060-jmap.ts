import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * JMAP (RFC 8620, RFC 8621): account-scoped uploads, identities, email submissions, the vacation
 * response and its reply log.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('jmap_uploads')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jmap_uploads_account').on('jmap_uploads').columns(['account_id', 'blob_id']).execute();
  await db.schema.createIndex('jmap_uploads_created').on('jmap_uploads').column('created_at').execute();

  await db.schema
    .createTable('jmap_identities')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('reply_to', 'text')
    .addColumn('bcc', 'text')
    .addColumn('text_signature', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('html_signature', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jmap_identities_account').on('jmap_identities').column('account_id').execute();

  await db.schema
    .createTable('jmap_submissions')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('identity_id', bigint, (c) => c.notNull())
    .addColumn('email_id', bigint, (c) => c.notNull())
    .addColumn('thread_id', bigint, (c) => c.notNull())
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('send_at', bigint, (c) => c.notNull())
    .addColumn('undo_status', 'text', (c) => c.notNull())
    .addColumn('delivery_status', 'text', (c) => c.notNull())
    .addColumn('queue_id', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jmap_submissions_account').on('jmap_submissions').columns(['account_id', 'send_at']).execute();

  await db.schema
    .createTable('jmap_vacation')
    .addColumn('account_id', bigint, (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('is_enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('from_date', bigint)
    .addColumn('to_date', bigint)
    .addColumn('subject', 'text')
    .addColumn('text_body', 'text')
    .addColumn('html_body', 'text')
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('jmap_vacation_replies')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('sent_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('jmap_vacation_replies_pk', ['account_id', 'sender'])
    .execute();
}
