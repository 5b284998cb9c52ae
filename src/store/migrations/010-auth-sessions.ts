import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/** Live authenticated sessions, mirrored by every node so `fingerpost admin session` can list them. */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { bigint } = ctx;
  await db.schema
    .createTable('auth_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('account_id', bigint, (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('listener', 'text', (c) => c.notNull())
    .addColumn('remote', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text')
    .addColumn('session_id', 'text')
    .addColumn('issuer', 'text')
    .addColumn('expires_at', bigint)
    .addColumn('started_at', bigint, (c) => c.notNull())
    .addColumn('seen_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_sessions_node').on('auth_sessions').column('node').execute();
  await db.schema.createIndex('auth_sessions_account').on('auth_sessions').column('account_id').execute();
}
