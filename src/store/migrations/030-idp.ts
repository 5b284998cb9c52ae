import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * The embedded OpenID provider: its signing keys, its secrets (cookie and CSRF keys), the
 * oidc-provider storage (sessions, grants, codes, refresh tokens, clients…) and the JWT access
 * tokens it issued (so revoking a grant can end the sessions that use them).
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  const { id, bigint, pk } = ctx;
  await db.schema
    .createTable('idp_keys')
    .addColumn('id', id, pk)
    .addColumn('kid', 'text', (c) => c.notNull().unique())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('retired_at', bigint)
    .addColumn('last_token_exp', bigint)
    .execute();

  await db.schema
    .createTable('idp_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('idp_entries')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    .addColumn('uid', 'text')
    .addColumn('expires_at', bigint)
    .addColumn('consumed_at', bigint)
    .addPrimaryKeyConstraint('idp_entries_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('idp_entries_grant').on('idp_entries').column('grant_id').execute();
  await db.schema.createIndex('idp_entries_user_code').on('idp_entries').columns(['model', 'user_code']).execute();
  await db.schema.createIndex('idp_entries_uid').on('idp_entries').columns(['model', 'uid']).execute();
  await db.schema.createIndex('idp_entries_expires').on('idp_entries').column('expires_at').execute();

  await db.schema
    .createTable('idp_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('grant_id', 'text')
    .addColumn('sid', 'text')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .execute();
  await db.schema.createIndex('idp_tokens_grant').on('idp_tokens').column('grant_id').execute();
  await db.schema.createIndex('idp_tokens_sid').on('idp_tokens').column('sid').execute();
  await db.schema.createIndex('idp_tokens_expires').on('idp_tokens').column('expires_at').execute();
}
