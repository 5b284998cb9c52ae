import { type IdentityRow, primaryIdentityId } from '../../../mail/identities.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import type { JsonValue } from '../i-json.ts';
import { toId } from '../ids.ts';

export { type IdentityRow, primaryIdentityId };

export const IDENTITY_PROPERTIES = ['id', 'name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature', 'mayDelete'] as const;

/** The account's identities (RFC 8621 §6); the first use creates one per address the account owns. */
export async function listIdentities(services: JmapServices, accountId: number): Promise<IdentityRow[]> {
  const { identities } = services.mail;
  const rows = await identities.list(accountId);
  if (rows.length) return rows;
  const account = await services.directory.getAccount(accountId);
  if (!account) return [];
  const addresses = await services.directory.addressesOf(accountId);
  const emails = [account.address, ...addresses.filter((a) => a.toLowerCase() !== account.address)];
  await identities.ensureDefaults(accountId, account.displayName, emails);
  return identities.list(accountId);
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
