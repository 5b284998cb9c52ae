import * as oidc from 'openid-client';
import { localProblem } from '../errors.ts';
import { readIfExists, writeFileAtomic } from '../store/files.ts';
import { withLock } from '../store/lock.ts';
import type { ClientPaths } from '../store/paths.ts';
import { translateOAuthError } from './errors.ts';
import { type FetchedMetadata, type HttpOptions, requestOptions } from './issuer.ts';

/**
 * Client registrations, remembered per issuer (RFC 7591 §3.2.1: persist the
 * client id per issuer, do not re-register on every login). Kept in `registrations.json`
 * (mode 0600: a confidential registration's secret lives there too).
 */
export interface Registration {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly clientAuth: 'none' | 'client_secret_post' | 'client_secret_basic';
  /** True when Fingerpost registered it (RFC 7591); false for a `--client-id` the user supplied. */
  readonly dynamic: boolean;
  readonly grantTypes: readonly string[];
  readonly registeredAt: number;
}

interface RegistrationFile {
  format: 'fingerpost-client-registrations';
  version: 1;
  issuers: Record<string, Registration>;
}

/** The redirect URI registered for native use: loopback, any port at use time (RFC 8252 §7.3). */
export const LOOPBACK_REDIRECT = 'http://127.0.0.1/callback';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function readFile(paths: ClientPaths): Promise<RegistrationFile> {
  const text = await readIfExists(paths.registrations);
  const empty: RegistrationFile = { format: 'fingerpost-client-registrations', version: 1, issuers: {} };
  if (text === undefined) return empty;
  try {
    const v = JSON.parse(text) as RegistrationFile;
    if (v.format === 'fingerpost-client-registrations' && v.version === 1 && v.issuers && typeof v.issuers === 'object') return v;
  } catch {}
  throw localProblem(`${paths.registrations} is not a fingerpost registrations file`, 'move it away; the next login registers again');
}

/** The remembered registration at `issuer`, if any. */
export async function findRegistration(paths: ClientPaths, issuer: string): Promise<Registration | undefined> {
  const r = (await readFile(paths)).issuers[issuer];
  return r && typeof r.clientId === 'string' && r.clientId ? r : undefined;
}

/** Remembers a registration (read-modify-write under a lock, atomic write). */
export async function rememberRegistration(paths: ClientPaths, reg: Registration): Promise<void> {
  await withLock(`${paths.registrations}.lock`, async () => {
    const file = await readFile(paths);
    file.issuers[reg.issuer] = reg;
    await writeFileAtomic(paths.registrations, `${JSON.stringify(file, null, 2)}\n`);
  });
}

/**
 * Registers a native public client at the issuer (RFC 7591 §3.1): loopback redirect, no secret,
 * code + refresh (+ device code when the issuer has a device endpoint), the scopes to be asked for.
 * Uses the values the server returns, which may differ from those asked for (§3.2.1).
 */
export async function registerClient(
  issuer: string,
  fetched: FetchedMetadata,
  scopes: readonly string[],
  address: string,
  options: HttpOptions & { softwareVersion: string },
): Promise<Registration> {
  const { metadata, algorithm } = fetched;
  const grantTypes = ['authorization_code', 'refresh_token'];
  const supported = metadata.grant_types_supported;
  if (metadata.device_authorization_endpoint && (!supported || supported.includes(DEVICE_GRANT))) grantTypes.push(DEVICE_GRANT);
  let config: oidc.Configuration;
  try {
    config = await oidc.dynamicClientRegistration(
      new URL(issuer),
      {
        client_name: 'Fingerpost command-line mail client',
        application_type: 'native',
        redirect_uris: [LOOPBACK_REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: grantTypes,
        response_types: ['code'],
        scope: scopes.join(' '),
        software_id: 'fingerpost-cli',
        software_version: options.softwareVersion,
      },
      oidc.None(),
      { algorithm, ...requestOptions(options) },
    );
  } catch (err) {
    throw translateOAuthError(err, address, `registering at ${issuer}`);
  }
  const m = config.clientMetadata();
  const auth = m.token_endpoint_auth_method;
  return {
    issuer,
    clientId: m.client_id,
    ...(typeof m.client_secret === 'string' ? { clientSecret: m.client_secret } : {}),
    clientAuth: auth === 'client_secret_basic' || auth === 'client_secret_post' ? auth : 'none',
    dynamic: true,
    grantTypes: Array.isArray(m.grant_types) ? (m.grant_types as string[]) : grantTypes,
    registeredAt: Date.now(),
  };
}
