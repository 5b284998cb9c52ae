import type { StorageQuota } from '../../../mail/storage-quota.ts';
import { STORAGE_QUOTA_ID } from '../../../mail/storage-quota.ts';
import type { JsonObject } from '../args.ts';
import { toId } from '../ids.ts';

/** The properties of a Quota object (RFC 9425 §4). */
export const QUOTA_PROPERTIES = [
  'id',
  'resourceType',
  'used',
  'hardLimit',
  'scope',
  'name',
  'types',
  'warnLimit',
  'softLimit',
  'description',
] as const;

/** The id of the account's storage quota. */
export const STORAGE_QUOTA = toId('quota', STORAGE_QUOTA_ID);

/**
 * The account's storage quota as a Quota object (RFC 9425 §4): octets used by all its mail against
 * the limit an administrator set; the same numbers IMAP GETQUOTA (RFC 9208) and SMTP enforce.
 * Without a limit the account has no Quota object.
 */
export function quotaObjects(q: StorageQuota): JsonObject[] {
  if (q.limit === null) return [];
  return [
    {
      id: STORAGE_QUOTA,
      resourceType: 'octets',
      used: q.used,
      hardLimit: q.limit,
      scope: 'account',
      name: 'Mail storage',
      types: ['Email'],
      warnLimit: null,
      softLimit: null,
      description: 'The octets of all messages in the account; a copy counts again, a message in several mailboxes once.',
    },
  ];
}
