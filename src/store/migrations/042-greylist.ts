import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Greylisting triplets (RFC 6647 §4.2: client network, envelope sender, recipient) kept in the
 * database, so every node of a cluster delays and passes the same retries.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('greylist')
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('first_seen', ctx.bigint, (c) => c.notNull())
    .addColumn('last_seen', ctx.bigint, (c) => c.notNull())
    .addColumn('passed_at', ctx.bigint)
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('greylist_pk', ['client', 'sender', 'recipient'])
    .execute();
  await db.schema.createIndex('greylist_last_seen').on('greylist').column('last_seen').execute();
}
