import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Sieve scripts per account (RFC 5804 §1.1: named scripts, at most one active), and the vacation
 * replies sent by Sieve (RFC 5230 §4.2: one per sender and handle per period).
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sieve_scripts')
    .addColumn('id', ctx.id, ctx.pk)
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('size', ctx.bigint, (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', ctx.bigint, (c) => c.notNull())
    .addUniqueConstraint('sieve_scripts_account_name', ['account_id', 'name'])
    .execute();
  await db.schema
    .createTable('sieve_vacation_replies')
    .addColumn('account_id', ctx.bigint, (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('handle', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('sent_at', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('sieve_vacation_replies_pk', ['account_id', 'handle', 'sender'])
    .execute();
}
