import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Who asked for an account's free/busy and whether the sharing rule allowed it (the account page shows it). */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('freebusy_asks')
    .addColumn('id', id, pk)
    .addColumn('account_id', bigint, (c) => c.notNull())
    .addColumn('asker', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text')
    .addColumn('allowed', 'integer', (c) => c.notNull())
    .addColumn('asked_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('freebusy_asks_account').on('freebusy_asks').columns(['account_id', 'asked_at']).execute();
}
