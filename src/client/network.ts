import type { ConnectTo } from './oauth/connect-to.ts';
import type { HttpOptions } from './oauth/issuer.ts';
import type { AccountFile } from './store/account.ts';
import { trustCaFile } from './trust.ts';

/**
 * What `login` remembered about reaching an account's servers, applied by every later command
 * (`token`, `check`, `logout`): the `--ca` file is trusted and the `--connect-to` overrides are
 * honoured by the HTTPS requests (OAuth endpoints, JMAP).
 */

/** Parses the account's `connectTo` record (`host` → `address:port`, IPv6 in brackets). */
export function connectToOf(account: Pick<AccountFile, 'connectTo'>): ConnectTo | undefined {
  if (!account.connectTo) return undefined;
  const map = new Map<string, { host: string; port: number }>();
  for (const [host, target] of Object.entries(account.connectTo)) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(target);
    if (m) map.set(host.toLowerCase(), { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  return map.size ? map : undefined;
}

/** Trusts the account's CA file (process-wide) and returns its request options. */
export function accountHttp(account: Pick<AccountFile, 'ca' | 'connectTo'>): HttpOptions {
  trustCaFile(account.ca);
  const connectTo = connectToOf(account);
  return connectTo ? { connectTo } : {};
}
