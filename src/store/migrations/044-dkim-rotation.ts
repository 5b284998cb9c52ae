import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * DKIM key rotation (RFC 6376 §3.1: selectors let a domain hold several keys): a new key waits,
 * published in DNS but not signing, until `activate_at`; the older key then stops signing and is
 * kept for verification until the operator removes it.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('dkim_keys').addColumn('activate_at', ctx.bigint).execute();
}
