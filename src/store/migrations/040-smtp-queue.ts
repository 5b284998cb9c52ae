import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Outbound queue (messages and per-recipient delivery state), DKIM keys, submission log, POP3 maildrop locks. */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('queue_messages')
    .addColumn('id', id, pk)
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('account_id', bigint)
    .addColumn('smtputf8', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('queue_recipients')
    .addColumn('id', id, pk)
    .addColumn('message_id', bigint, (c) => c.notNull().references('queue_messages.id').onDelete('cascade'))
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', bigint, (c) => c.notNull())
    .addColumn('last_attempt_at', bigint)
    .addColumn('last_error', 'text')
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', bigint)
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('queue_recipients_due').on('queue_recipients').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('queue_recipients_message').on('queue_recipients').column('message_id').execute();

  await db.schema
    .createTable('dkim_keys')
    .addColumn('id', id, pk)
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('selector', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('dkim_keys_domain_selector', ['domain', 'selector'])
    .execute();

  await db.schema
    .createTable('submission_log')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('recipients', 'integer', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('submission_log_account').on('submission_log').columns(['account_id', 'created_at']).execute();

  await db.schema
    .createTable('pop3_locks')
    .addColumn('account_id', bigint, (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();
}
