import type { Kysely } from 'kysely';

/**
 * Where an app password was last used: the client address and protocol of its latest sign-in,
 * beside `last_used_at`, so the account page can show "last used … from …".
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_passwords').addColumn('last_used_address', 'text').execute();
  await db.schema.alterTable('app_passwords').addColumn('last_used_protocol', 'text').execute();
}
