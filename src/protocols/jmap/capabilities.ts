import type { Config } from '../../config/config.ts';
import { MAX_MAILBOX_DEPTH, MAX_MAILBOX_SEGMENT } from '../../mail/names.ts';
import { sieveAccountCapability } from './sieve-script/capability.ts';

/** Capability URIs this server implements (RFC 8620 §2, RFC 8621 §1.3, RFC 8887 §4, RFC 9425 §2, RFC 9404 §3). */
export const CAPABILITIES = {
  core: 'urn:ietf:params:jmap:core',
  mail: 'urn:ietf:params:jmap:mail',
  submission: 'urn:ietf:params:jmap:submission',
  vacation: 'urn:ietf:params:jmap:vacationresponse',
  websocket: 'urn:ietf:params:jmap:websocket',
  quota: 'urn:ietf:params:jmap:quota',
  blob: 'urn:ietf:params:jmap:blob',
  principals: 'urn:ietf:params:jmap:principals',
  principalsOwner: 'urn:ietf:params:jmap:principals:owner',
  sieve: 'urn:ietf:params:jmap:sieve',
} as const;

/** The set `using` may name; anything else is `unknownCapability` (RFC 8620 §3.6.1). */
export const KNOWN_CAPABILITIES: ReadonlySet<string> = new Set(Object.values(CAPABILITIES));

/** The limits of `urn:ietf:params:jmap:core` (RFC 8620 §2), enforced server-side (§8.5). */
export interface JmapLimits {
  readonly maxSizeUpload: number;
  readonly maxConcurrentUpload: number;
  readonly maxSizeRequest: number;
  readonly maxConcurrentRequests: number;
  readonly maxCallsInRequest: number;
  readonly maxObjectsInGet: number;
  readonly maxObjectsInSet: number;
}

/** The core limits from `[jmap]`. */
export function limitsFrom(config: Config): JmapLimits {
  const j = config.jmap;
  return {
    maxSizeUpload: j.max_size_upload,
    maxConcurrentUpload: j.max_concurrent_upload,
    maxSizeRequest: j.max_size_request,
    maxConcurrentRequests: j.max_concurrent_requests,
    maxCallsInRequest: j.max_calls_in_request,
    maxObjectsInGet: j.max_objects_in_get,
    maxObjectsInSet: j.max_objects_in_set,
  };
}

/** Sort properties Email/query supports (announced as `emailQuerySortOptions`, RFC 8621 §1.3.1). */
export const EMAIL_SORT_OPTIONS = [
  'receivedAt',
  'sentAt',
  'size',
  'from',
  'to',
  'subject',
  'hasKeyword',
  'allInThreadHaveKeyword',
  'someInThreadHaveKeyword',
] as const;

/**
 * Mailbox names longer than this (in UTF-8 octets) are refused (RFC 8621 §1.3.1 `maxSizeMailboxName`),
 * as are trees deeper than `maxMailboxDepth`: the store enforces both for every protocol.
 */
export const MAX_MAILBOX_NAME = MAX_MAILBOX_SEGMENT;
export { MAX_MAILBOX_DEPTH };

/** The most data sources one Blob/upload object may join (RFC 9404 §4.1 `maxDataSources`). */
export const MAX_DATA_SOURCES = 64;

/** The types Blob/lookup can name (RFC 9404 §4.3 `supportedTypeNames`). */
export const BLOB_LOOKUP_TYPES = ['Mailbox', 'Thread', 'Email'] as const;

/** Blob/get digests (RFC 9404 §4.2) by their IANA hash names, with node:crypto's names. */
export const DIGEST_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['sha', 'sha1'],
  ['sha-256', 'sha256'],
  ['sha-512', 'sha512'],
]);

/** Per-account capability values (RFC 8621 §1.3.1, §1.3.2). */
export function accountCapabilities(config: Config): Record<string, Record<string, unknown>> {
  return {
    [CAPABILITIES.mail]: {
      maxMailboxesPerEmail: null,
      maxMailboxDepth: MAX_MAILBOX_DEPTH,
      maxSizeMailboxName: MAX_MAILBOX_NAME,
      maxSizeAttachmentsPerEmail: config.jmap.max_size_upload,
      emailQuerySortOptions: [...EMAIL_SORT_OPTIONS],
      mayCreateTopLevelMailbox: true,
    },
    [CAPABILITIES.submission]: { maxDelayedSend: 0, submissionExtensions: {} },
    [CAPABILITIES.vacation]: {},
    [CAPABILITIES.quota]: {},
    [CAPABILITIES.blob]: {
      maxSizeBlobSet: config.jmap.max_size_upload,
      maxDataSources: MAX_DATA_SOURCES,
      supportedTypeNames: [...BLOB_LOOKUP_TYPES],
      supportedDigestAlgorithms: [...DIGEST_ALGORITHMS.keys()],
    },
    [CAPABILITIES.sieve]: sieveAccountCapability(config),
  };
}

/** Session-level capability values (RFC 8620 §2 core limits; the others are empty objects). */
export function sessionCapabilities(limits: JmapLimits, websocketUrl: string | null): Record<string, Record<string, unknown>> {
  return {
    [CAPABILITIES.core]: { ...limits, collationAlgorithms: ['i;ascii-casemap', 'i;ascii-numeric', 'i;octet', 'i;unicode-casemap'] },
    [CAPABILITIES.mail]: {},
    [CAPABILITIES.submission]: {},
    [CAPABILITIES.vacation]: {},
    [CAPABILITIES.quota]: {},
    [CAPABILITIES.blob]: {},
    [CAPABILITIES.principals]: {},
    [CAPABILITIES.principalsOwner]: {},
    [CAPABILITIES.sieve]: {},
    ...(websocketUrl ? { [CAPABILITIES.websocket]: { url: websocketUrl, supportsPush: true } } : {}),
  };
}
