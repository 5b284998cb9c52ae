import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * ACL entries beyond one account's positive grant (RFC 4314 §2): `anyone` (every account of the
 * owner's domain), `-anyone` and `-<address>` (negative rights, taken away from what the positive
 * entries give). Keyed by the identifier as IMAP names it, like an ACL file; goes with its mailbox.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_acl_identifiers')
    .addColumn('mailbox_id', ctx.bigint, (c) => c.notNull().references('mailboxes.id').onDelete('cascade'))
    .addColumn('owner_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('rights', 'text', (c) => c.notNull())
    .addColumn('updated_at', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_acl_identifiers_pk', ['mailbox_id', 'identifier'])
    .execute();
  await db.schema.createIndex('mail_acl_identifiers_owner').on('mail_acl_identifiers').columns(['owner_id', 'identifier']).execute();
}
