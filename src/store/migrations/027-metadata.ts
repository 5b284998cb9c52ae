import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * IMAP METADATA entries (RFC 5464): per account, on a mailbox or (mailbox_id 0) on the server.
 * Names are stored lower-case (`/private/...`, `/shared/...`); values base64, so any octets
 * (literal8) come back exactly as stored on SQLite and PostgreSQL alike.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_metadata')
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('mailbox_id', ctx.bigint, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('size', ctx.bigint, (c) => c.notNull())
    .addColumn('updated_at', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_metadata_pk', ['account_id', 'mailbox_id', 'name'])
    .execute();
}
