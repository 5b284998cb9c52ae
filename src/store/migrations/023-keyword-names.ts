import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * How each keyword of an account was first written (`$Forwarded`, `Project-X`): keywords are
 * compared and stored lower-case (RFC 8621 §4.1.1), and IMAP shows them in the client's spelling.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('keyword_names')
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('keyword', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('keyword_names_pk', ['account_id', 'keyword'])
    .execute();
}
