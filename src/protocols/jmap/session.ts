import { createHash } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import { resourceIds } from '../../config/resources.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import type { JsonObject } from './args.ts';
import { accountCapabilities, CAPABILITIES, type JmapLimits, sessionCapabilities } from './capabilities.ts';
import { toId } from './ids.ts';
import { principalCapabilities, type SharedAccount, sharedAccountEntry } from './sharing/accounts.ts';

/** The URLs of the JMAP resources, all under the public URL (RFC 8620 §2). */
export interface JmapUrls {
  readonly session: string;
  readonly api: string;
  readonly download: string;
  readonly upload: string;
  readonly eventSource: string;
  readonly webSocket: string;
}

/** The endpoint URLs; the session URL is the JMAP resource identifier (`resourceIds(config).jmap`). */
export function jmapUrls(config: Config): JmapUrls {
  const base = `${config.publicUrl}/jmap`;
  return {
    session: resourceIds(config).jmap,
    api: `${base}/api`,
    download: `${base}/download/{accountId}/{blobId}/{name}?accept={type}`,
    upload: `${base}/upload/{accountId}`,
    eventSource: `${base}/eventsource?types={types}&closeafter={closeafter}&ping={ping}`,
    webSocket: `${base.replace(/^https:/, 'wss:')}/ws`,
  };
}

/**
 * The Session object for an account (RFC 8620 §2): capabilities with the core limits, the
 * caller's account and the accounts that shared mailboxes with them (RFC 9670 §1.4) with their
 * capabilities, primary accounts, URLs and a `state` that changes whenever anything else in it does.
 */
export function sessionObject(
  config: Config,
  limits: JmapLimits,
  account: DirectoryAccount,
  webSocket: boolean,
  shared: readonly SharedAccount[] = [],
): JsonObject {
  const urls = jmapUrls(config);
  const accountId = toId('account', account.id);
  const own = { ...accountCapabilities(config), ...principalCapabilities(account.id, true) };
  const body = {
    capabilities: sessionCapabilities(limits, webSocket ? urls.webSocket : null),
    accounts: {
      [accountId]: { name: account.address, isPersonal: true, isReadOnly: false, accountCapabilities: own },
      ...Object.fromEntries(shared.map((s) => [toId('account', s.owner.id), sharedAccountEntry(config, s)])),
    },
    primaryAccounts: {
      [CAPABILITIES.mail]: accountId,
      [CAPABILITIES.submission]: accountId,
      [CAPABILITIES.vacation]: accountId,
      [CAPABILITIES.quota]: accountId,
      [CAPABILITIES.blob]: accountId,
      [CAPABILITIES.principals]: accountId,
      [CAPABILITIES.sieve]: accountId,
    },
    username: account.address,
    apiUrl: urls.api,
    downloadUrl: urls.download,
    uploadUrl: urls.upload,
    eventSourceUrl: urls.eventSource,
  };
  return { ...body, state: sessionState(body) } as JsonObject;
}

/** A short digest of everything in the session object except `state`. */
export function sessionState(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 16);
}
