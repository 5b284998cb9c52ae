import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Shared mailboxes between accounts of a domain: one grant per mailbox and grantee with its
 * IMAP ACL rights (RFC 4314 §2.1, `lrswipkxtea`), shown to JMAP as `myRights`/`shareWith`
 * (RFC 9670); and the ShareNotification objects (RFC 9670 §5) a grantee is told of changes with.
 * A grant goes with its mailbox or either account.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_acl')
    .addColumn('mailbox_id', ctx.bigint, (c) => c.notNull().references('mailboxes.id').onDelete('cascade'))
    .addColumn('grantee_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('owner_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('rights', 'text', (c) => c.notNull())
    .addColumn('updated_at', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_acl_pk', ['mailbox_id', 'grantee_id'])
    .execute();
  await db.schema.createIndex('mail_acl_grantee').on('mail_acl').column('grantee_id').execute();
  await db.schema
    .createTable('share_notifications')
    .addColumn('id', ctx.id, ctx.pk)
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', ctx.bigint, (c) => c.notNull())
    .addColumn('changed_by_id', ctx.bigint, (c) => c.notNull())
    .addColumn('changed_by_name', 'text', (c) => c.notNull())
    .addColumn('changed_by_email', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_account_id', ctx.bigint, (c) => c.notNull())
    .addColumn('object_id', ctx.bigint, (c) => c.notNull())
    .addColumn('old_rights', 'text')
    .addColumn('new_rights', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('share_notifications_account').on('share_notifications').columns(['account_id', 'created_at']).execute();
}
