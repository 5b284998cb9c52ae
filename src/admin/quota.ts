import { FingerpostError } from '../core/errors.ts';
import type { Directory } from '../directory/directory.ts';
import { MAIL_CHANGED } from '../mail/cluster.ts';
import type { MailStore, StorageQuota } from '../mail/store.ts';
import type { Db } from '../store/db.ts';
import { publishEvent } from '../store/events.ts';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a quota size: octets, or a number with K, M, G or T (powers of 1024); `none` is no limit. */
export function parseQuotaSize(text: string): number | null {
  if (/^(none|unlimited)$/i.test(text.trim())) return null;
  const m = /^(\d{1,15})(?:\s*([KMGT])i?B?)?$/i.exec(text.trim());
  if (!m) throw new FingerpostError('invalid_argument', `"${text}" is not a size`, { hint: 'write e.g. 500M, 2G, 1048576 or none' });
  const n = Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()]!;
  if (!Number.isSafeInteger(n)) throw new FingerpostError('invalid_argument', `"${text}" is too large`);
  return n;
}

/**
 * Sets an account's storage quota (RFC 9208 §5.1 STORAGE, RFC 9425 octets) as an administrator,
 * and publishes the change on the events bus so live IMAP/JMAP clients of every node learn of it.
 */
export async function setAccountQuota(
  deps: { readonly db: Db; readonly directory: Directory; readonly mail: MailStore },
  address: string,
  limit: number | null,
): Promise<StorageQuota> {
  const account = await deps.directory.findByAddress(address);
  if (!account) throw new FingerpostError('not_found', `no account ${address}`);
  const change = await deps.mail.setStorageLimit(account.id, limit);
  if (change) await publishEvent(deps.db, MAIL_CHANGED, { ...change, node: 'admin' });
  return deps.mail.storageQuota(account.id);
}

/** An account's storage quota by address. */
export async function accountQuota(
  deps: { readonly directory: Directory; readonly mail: MailStore },
  address: string,
): Promise<StorageQuota> {
  const account = await deps.directory.findByAddress(address);
  if (!account) throw new FingerpostError('not_found', `no account ${address}`);
  return deps.mail.storageQuota(account.id);
}
