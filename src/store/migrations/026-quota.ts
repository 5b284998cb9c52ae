import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * The per-account storage quota (RFC 9208 STORAGE, RFC 9425 octets): the limit an admin sets (NULL:
 * none) and the octets the account's messages take, kept in step with every write by the mail
 * store. Existing accounts start from the sum of their message sizes.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('mail_quotas')
    .addColumn('account_id', ctx.bigint, (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('storage_limit', ctx.bigint)
    .addColumn('storage_used', ctx.bigint, (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`insert into mail_quotas (account_id, storage_limit, storage_used)
    select accounts.id, null, coalesce((select sum(size) from messages where messages.account_id = accounts.id), 0) from accounts`.execute(
    db,
  );
}
