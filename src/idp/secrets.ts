import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.ts';

/**
 * A named random secret of the embedded provider (cookie signing key, CSRF key), created on first
 * use and shared through the database by every node, so a browser's cookies work on any of them.
 */
export async function idpSecret(db: Db, name: string, bytes = 32): Promise<string> {
  await db.kysely
    .insertInto('idp_secrets')
    .values({ name, value: randomBytes(bytes).toString('base64url'), created_at: Date.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.kysely.selectFrom('idp_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
