import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Second factors at the embedded provider: one TOTP key per account (RFC 6238; sealed, with the
 * last accepted time step against replay), single-use recovery codes (keyed hashes only) and
 * WebAuthn passkeys (credential id, COSE public key, signature counter).
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('idp_totp')
    .addColumn('account', 'text', (c) => c.primaryKey())
    .addColumn('sealed_key', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', bigint)
    .addColumn('last_step', bigint, (c) => c.notNull().defaultTo(-1))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('idp_recovery_codes')
    .addColumn('id', id, pk)
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('used_at', bigint)
    .execute();
  await db.schema.createIndex('idp_recovery_codes_account').on('idp_recovery_codes').column('account').execute();
  await db.schema
    .createTable('idp_passkeys')
    .addColumn('id', id, pk)
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', bigint, (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_used_at', bigint)
    .execute();
  await db.schema.createIndex('idp_passkeys_account').on('idp_passkeys').column('account').execute();
}
