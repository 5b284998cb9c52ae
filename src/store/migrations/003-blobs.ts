import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Blobs in the database (src/store/db-blobs.ts), for nodes that share one PostgreSQL: one row per
 * blob (size, last write) and its bytes in 1 MiB chunks, so no row holds a whole 50 MB message.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const bytes = ctx.dialect === 'postgres' ? 'bytea' : 'blob';
  await db.schema
    .createTable('blobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('size', ctx.bigint, (c) => c.notNull())
    .addColumn('written_at', ctx.bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('blob_chunks')
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_id', 'seq'])
    .execute();
}
