import { hasRights } from '../../../mail/sharing/rights.ts';
import type { JmapServices } from '../context.ts';
import { fromId, parseBlobId } from '../ids.ts';

/**
 * The owner whose blob a download from a shared account reads (RFC 8620 §6.2, RFC 9670 §1.4):
 * the account named must have shared mailboxes with the caller, and the blob must be an Email (or
 * part of one) in a mailbox the caller may read (`lr`). Undefined otherwise.
 */
export async function sharedDownloadOwner(
  services: JmapServices,
  callerId: number,
  accountId: string,
  blobId: string,
): Promise<number | undefined> {
  const owner = fromId('account', accountId);
  const ref = parseBlobId(blobId);
  if (owner === undefined || owner === callerId || !ref) return undefined;
  const rights = await services.mail.sharing.sharedMailboxes(callerId, owner);
  if (!rights.size) return undefined;
  const messages = await services.mail.messagesByBlob(owner, [ref.sha]);
  const boxes = await services.mail.mailboxIdsOf(messages.map((m) => m.id));
  const readable = [...boxes.values()].some((ids) => ids.some((b) => hasRights(rights.get(b) ?? '', 'lr')));
  return readable ? owner : undefined;
}

/**
 * The caller's rights per mailbox in `accountId` when it is another account that shared mailboxes
 * with them (RFC 9670 §1.4), else undefined: uploads there (RFC 8620 §6.1) need `i` somewhere and
 * are the caller's own blobs (src/protocols/jmap/sharing/shared-blobs.ts).
 */
export async function sharedRights(services: JmapServices, callerId: number, accountId: string): Promise<Map<number, string> | undefined> {
  const owner = fromId('account', accountId);
  if (owner === undefined || owner === callerId) return undefined;
  const rights = await services.mail.sharing.sharedMailboxes(callerId, owner);
  return rights.size ? rights : undefined;
}
