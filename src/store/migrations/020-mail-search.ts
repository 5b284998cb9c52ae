import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Searchable text of each message (decoded headers and body) and a blob index for cleanup. */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('message_text')
    .addColumn('message_id', ctx.bigint, (c) => c.primaryKey().references('messages.id').onDelete('cascade'))
    .addColumn('account_id', ctx.bigint, (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('messages_blob').on('messages').column('blob_id').execute();
}
