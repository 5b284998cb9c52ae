import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Domains, accounts, aliases, credentials, mailboxes, messages and the change log. */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('domains')
    .addColumn('id', id, pk)
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', id, pk)
    .addColumn('domain_id', bigint, (c) => c.notNull().references('domains.id').onDelete('restrict'))
    .addColumn('local_part', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('password_hash', 'text')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('credentials_changed_at', bigint, (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull().defaultTo(1))
    .execute();

  await db.schema
    .createTable('aliases')
    .addColumn('id', id, pk)
    .addColumn('address', 'text', (c) => c.notNull().unique())
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('app_passwords')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('protocols', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_used_at', bigint)
    .addColumn('expires_at', bigint)
    .addColumn('revoked_at', bigint)
    .execute();
  await db.schema.createIndex('app_passwords_account').on('app_passwords').column('account_id').execute();

  await db.schema
    .createTable('mailboxes')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('uidvalidity', bigint, (c) => c.notNull())
    .addColumn('uidnext', bigint, (c) => c.notNull().defaultTo(1))
    .addColumn('highest_modseq', bigint, (c) => c.notNull().defaultTo(1))
    .addColumn('subscribed', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull().defaultTo(1))
    .addUniqueConstraint('mailboxes_account_name', ['account_id', 'name'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('received_at', bigint, (c) => c.notNull())
    .addColumn('thread_id', bigint, (c) => c.notNull())
    .addColumn('message_id_header', 'text')
    .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sent_at', bigint)
    .addColumn('from_addr', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('to_addr', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('keywords', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('meta', 'text', (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('messages_account').on('messages').columns(['account_id', 'received_at']).execute();
  await db.schema.createIndex('messages_thread').on('messages').columns(['account_id', 'thread_id']).execute();
  await db.schema.createIndex('messages_msgid').on('messages').columns(['account_id', 'message_id_header']).execute();

  await db.schema
    .createTable('mailbox_messages')
    .addColumn('mailbox_id', bigint, (c) => c.notNull().references('mailboxes.id').onDelete('cascade'))
    .addColumn('uid', bigint, (c) => c.notNull())
    .addColumn('message_id', bigint, (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('mailbox_messages_pk', ['mailbox_id', 'uid'])
    .execute();
  await db.schema.createIndex('mailbox_messages_message').on('mailbox_messages').column('message_id').execute();

  await db.schema
    .createTable('expunged')
    .addColumn('mailbox_id', bigint, (c) => c.notNull().references('mailboxes.id').onDelete('cascade'))
    .addColumn('uid', bigint, (c) => c.notNull())
    .addColumn('modseq', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('expunged_mailbox').on('expunged').columns(['mailbox_id', 'modseq']).execute();

  await db.schema
    .createTable('changes')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('modseq', bigint, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('object_id', bigint, (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('changes_account').on('changes').columns(['account_id', 'type', 'modseq']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', id, pk)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
}
