import type { Selectable } from 'kysely';
import type { JmapIdentityTable } from '../../../store/schema.ts';
import type { JsonObject } from '../args.ts';
import { writeLogged } from '../changelog.ts';
import type { JmapServices } from '../context.ts';
import type { JsonValue } from '../i-json.ts';
import { toId } from '../ids.ts';

export type IdentityRow = Selectable<JmapIdentityTable>;

export const IDENTITY_PROPERTIES = ['id', 'name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature', 'mayDelete'] as const;

/** The account's identities; the first use creates one per address the account owns. */
export async function listIdentities(services: JmapServices, accountId: number): Promise<IdentityRow[]> {
  const k = services.db.kysely;
  const rows = await k.selectFrom('jmap_identities').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
  if (rows.length) return rows;
  const account = await services.directory.getAccount(accountId);
  if (!account) return [];
  const addresses = await services.directory.addressesOf(accountId);
  await writeLogged(services, accountId, 'Identity', async (trx) => {
    // Re-check inside the transaction: two first requests must not both create the defaults.
    const again = await trx.selectFrom('jmap_identities').select('id').where('account_id', '=', accountId).limit(1).execute();
    if (again.length) return { value: undefined, changes: [] };
    const changes = [];
    for (const email of [account.address, ...addresses.filter((a) => a.toLowerCase() !== account.address)]) {
      const row = await trx
        .insertInto('jmap_identities')
        .values({
          account_id: accountId,
          name: account.displayName,
          email,
          reply_to: null,
          bcc: null,
          text_signature: '',
          html_signature: '',
          created_at: services.now(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      changes.push({ id: row.id, kind: 'created' as const });
    }
    return { value: undefined, changes };
  });
  return k.selectFrom('jmap_identities').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
}

/**
 * The account's primary identity: the first one with its own address (RFC 8621 §6 `mayDelete`:
 * only this one is kept; other identities with the same address may be destroyed).
 */
export function primaryIdentityId(rows: readonly IdentityRow[], primaryAddress: string): number | undefined {
  const lower = primaryAddress.toLowerCase();
  return rows
    .filter((r) => r.email.toLowerCase() === lower)
    .reduce<number | undefined>((min, r) => (min === undefined || r.id < min ? r.id : min), undefined);
}

/** The JMAP Identity object of a row (RFC 8621 §6); `primaryId` from `primaryIdentityId`. */
export function identityObject(row: IdentityRow, primaryId: number | undefined): JsonObject {
  return {
    id: toId('identity', row.id),
    name: row.name,
    email: row.email,
    replyTo: row.reply_to === null ? null : (JSON.parse(row.reply_to) as JsonValue),
    bcc: row.bcc === null ? null : (JSON.parse(row.bcc) as JsonValue),
    textSignature: row.text_signature,
    htmlSignature: row.html_signature,
    mayDelete: row.id !== primaryId,
  };
}
