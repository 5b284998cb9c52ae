import { hasRights } from '../../../mail/sharing/rights.ts';
import { type ReadableBlob, readBlob } from '../blob/access.ts';
import type { JmapServices, MethodContext } from '../context.ts';
import { MethodError } from '../errors.ts';
import { parseBlobId } from '../ids.ts';
import { mailboxesWith, type SharedAccess, sharedAccessTo } from './shared-mail.ts';

/**
 * The caller's access to `accountId` when it is an account shared with them (RFC 9670 §1.4):
 * the one the running method works on, or another named by a /copy; undefined for their own.
 */
export async function accessTo(ctx: MethodContext, accountId: number): Promise<SharedAccess | undefined> {
  if (accountId === ctx.caller.account.id) return undefined;
  return ctx.shared?.ownerId === accountId ? ctx.shared : sharedAccessTo(ctx, accountId);
}

/**
 * A blob as `callerId` sees it in an account shared with them (RFC 8620 §6, RFC 9670 §1.4): the
 * blob of an Email (or a part of one) in a mailbox the grant lets them read (`lr`), or a blob the
 * caller uploaded themselves. The owner's own uploads stay the owner's. Used by the methods and
 * the download route alike.
 */
export async function readSharedBlob(
  services: JmapServices,
  callerId: number,
  access: SharedAccess,
  blobId: string,
): Promise<ReadableBlob | undefined> {
  const own = await readBlob(services, callerId, blobId);
  if (own) return own;
  const ref = parseBlobId(blobId);
  if (!ref) return undefined;
  const messages = await services.mail.messagesByBlob(access.ownerId, [ref.sha]);
  const boxes = await services.mail.mailboxIdsOf(messages.map((m) => m.id));
  const read = mailboxesWith(access, 'lr');
  if (![...boxes.values()].some((ids) => ids.some((b) => read.has(b)))) return undefined;
  return readBlob(services, access.ownerId, blobId);
}

/** Reads a blob of `accountId` as the caller may: their own account's, or a shared account's (`readSharedBlob`). */
export async function readBlobIn(ctx: MethodContext, accountId: number, blobId: string): Promise<ReadableBlob | undefined> {
  const access = await accessTo(ctx, accountId);
  return access ? readSharedBlob(ctx.services, ctx.caller.account.id, access, blobId) : readBlob(ctx.services, accountId, blobId);
}

/** Whether the grant lets the caller add Emails to at least one mailbox (RFC 8621 §2 mayAddItems). */
export function mayAddSomewhere(access: SharedAccess): boolean {
  return [...access.rights.values()].some((r) => hasRights(r, 'i'));
}

/**
 * The account an upload into `accountId` is recorded for: the caller's own. In a shared account
 * (RFC 9670 §1.4) the caller needs to be able to add Emails somewhere (`forbidden` otherwise);
 * the blob is then theirs, usable there by them (Email/import) and by no one else.
 */
export async function uploadAccount(ctx: MethodContext, accountId: number): Promise<number> {
  const access = await accessTo(ctx, accountId);
  if (access && !mayAddSomewhere(access)) throw new MethodError('forbidden', 'uploading here needs mayAddItems on a shared mailbox');
  return ctx.caller.account.id;
}
