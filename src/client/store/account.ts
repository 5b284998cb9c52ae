/**
 * The account file (one per address, mode 0600): what `fingerpost login` learned, in the clear
 * because none of it is secret (issuer, client id, cached issuer metadata, services), plus the
 * sealed secret (refresh token, access tokens) that only the chosen backend can open.
 */

/** A mail service as the configuration document (or a provider preset) described it. */
export type ServiceEntry =
  | {
      readonly protocol: 'imap' | 'pop3' | 'submission';
      readonly host: string;
      readonly port: number;
      readonly tls: 'implicit' | 'starttls';
      /** SASL mechanisms the service accepts, most preferred first. */
      readonly auth: readonly string[];
      /** The RFC 8707 resource indicator a token for this service is issued for. */
      readonly resource?: string;
    }
  | {
      readonly protocol: 'jmap' | 'calendar';
      readonly url: string;
      readonly auth: readonly string[];
      readonly resource?: string;
    };

/** The services `token --service` and `check` know by name. */
export const SERVICE_NAMES = ['imap', 'pop3', 'smtp', 'jmap', 'calendar'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** How the secret part is sealed; `reason` says why this backend was chosen (shown to the user). */
export type StoreChoice =
  | { readonly kind: 'age'; readonly workFactor: number; readonly passphraseCommand?: string; readonly reason: string }
  | { readonly kind: 'command'; readonly encrypt: string; readonly decrypt: string; readonly reason: string }
  | { readonly kind: 'keyring'; readonly reason: string }
  | { readonly kind: 'file'; readonly reason: string };

/** The authorization server metadata fields the client uses later (RFC 8414 §2, RFC 8628 §4). */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly authorization_endpoint?: string;
  readonly device_authorization_endpoint?: string;
  readonly revocation_endpoint?: string;
  readonly registration_endpoint?: string;
  readonly authorization_response_iss_parameter_supported?: boolean;
  readonly code_challenge_methods_supported?: readonly string[];
  readonly token_endpoint_auth_methods_supported?: readonly string[];
}

export interface AccountFile {
  readonly format: typeof ACCOUNT_FORMAT;
  readonly version: 1;
  readonly address: string;
  /** A provider preset (`google`, `microsoft`) when the account was set up from one. */
  readonly provider?: string;
  readonly issuer: string;
  readonly metadata: IssuerMetadata;
  readonly clientId: string;
  /** How the client authenticates at the token endpoint: `none` for public clients. */
  readonly clientAuth: 'none' | 'client_secret_post' | 'client_secret_basic';
  readonly scopes: readonly string[];
  /** Every resource indicator asked for at sign-in (RFC 8707 §2). */
  readonly resources: readonly string[];
  readonly services: readonly ServiceEntry[];
  /** The SASL mechanism to prefer for this provider (`OAUTHBEARER`, or `XOAUTH2` for presets). */
  readonly sasl: 'OAUTHBEARER' | 'XOAUTH2';
  readonly store: StoreChoice;
  /** The CA file (absolute path) given to `login --ca`: `token`, `check` and `setup` trust it too. */
  readonly ca?: string;
  /** `login --connect-to` overrides (`host` → `address:port`), honoured by every later request. */
  readonly connectTo?: Readonly<Record<string, string>>;
  readonly createdAt: number;
  /** The sealed secret, base64; empty when the backend keeps it elsewhere (keyring, pass). */
  readonly sealed: string;
}

/** An access token and when it stops being valid (epoch ms). */
export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
  /** When it was obtained (epoch ms): the lifetime decides how early to refresh. */
  readonly obtainedAt?: number;
  readonly scope?: string;
}

/** The part of the secret a caller changes; the store adds the binding fields. */
export type SecretBody = Omit<AccountSecret, 'format' | 'address' | 'issuer'>;

/** What the backend seals. `address` and `issuer` bind it to its account file. */
export interface AccountSecret {
  readonly format: typeof SECRET_FORMAT;
  readonly address: string;
  readonly issuer: string;
  readonly refreshToken?: string;
  readonly refreshIssuedAt?: number;
  /** When the refresh token expires, if the issuer said so (`refresh_expires_in`, a common extension). */
  readonly refreshExpiresAt?: number;
  /** Access tokens by resource; the key `*` holds the token issued for the whole grant. */
  readonly tokens: Readonly<Record<string, AccessToken>>;
  /** A client secret the user supplied for a provider preset (never a shipped one). */
  readonly clientSecret?: string;
}

export const ACCOUNT_FORMAT = 'fingerpost-client-account';
export const SECRET_FORMAT = 'fingerpost-client-secret';

/** Why a file is not a usable account file; the message names the file, never its content. */
export class AccountFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountFileError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isHttps = (v: unknown): v is string => {
  if (!isStr(v)) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]'));
  } catch {
    return false;
  }
};

function parseService(v: unknown): ServiceEntry {
  if (!isObj(v) || !isStr(v.protocol) || !isStrList(v.auth) || (v.resource !== undefined && !isStr(v.resource)))
    throw new AccountFileError('a service entry is malformed');
  if (v.protocol === 'imap' || v.protocol === 'pop3' || v.protocol === 'submission') {
    if (!isStr(v.host) || typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535)
      throw new AccountFileError('a service entry has no valid host and port');
    if (v.tls !== 'implicit' && v.tls !== 'starttls') throw new AccountFileError('a service entry has an unknown TLS mode');
    return v as unknown as ServiceEntry;
  }
  if (v.protocol === 'jmap' || v.protocol === 'calendar') {
    if (!isHttps(v.url)) throw new AccountFileError('an HTTP service entry has no https URL');
    return v as unknown as ServiceEntry;
  }
  throw new AccountFileError(`unknown service protocol "${String(v.protocol).slice(0, 20)}"`);
}

function parseStore(v: unknown): StoreChoice {
  if (!isObj(v) || !isStr(v.reason)) throw new AccountFileError('the store entry is malformed');
  switch (v.kind) {
    case 'age':
      if (typeof v.workFactor !== 'number' || !Number.isInteger(v.workFactor) || v.workFactor < 1 || v.workFactor > 22)
        throw new AccountFileError('the age work factor is out of range');
      if (v.passphraseCommand !== undefined && !isStr(v.passphraseCommand))
        throw new AccountFileError('passphraseCommand must be a string');
      return v as unknown as StoreChoice;
    case 'command':
      if (!isStr(v.encrypt) || !isStr(v.decrypt) || !v.encrypt || !v.decrypt)
        throw new AccountFileError('the encrypt/decrypt commands are missing');
      return v as unknown as StoreChoice;
    case 'keyring':
    case 'file':
      return v as unknown as StoreChoice;
    default:
      throw new AccountFileError(`unknown store kind "${String(v.kind).slice(0, 20)}"`);
  }
}

function parseMetadata(v: unknown, issuer: string): IssuerMetadata {
  if (!isObj(v) || v.issuer !== issuer) throw new AccountFileError('the cached issuer metadata does not belong to the issuer');
  if (!isHttps(v.token_endpoint)) throw new AccountFileError('the cached issuer metadata has no https token endpoint');
  for (const key of ['authorization_endpoint', 'device_authorization_endpoint', 'revocation_endpoint', 'registration_endpoint'] as const)
    if (v[key] !== undefined && !isHttps(v[key])) throw new AccountFileError(`the cached ${key} is not an https URL`);
  return v as unknown as IssuerMetadata;
}

/**
 * Parses and checks an account file's text. A file that is not JSON, not ours, for another
 * address, or of a newer version is refused with a message that says which.
 */
export function parseAccountFile(text: string, expectedAddress: string): AccountFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AccountFileError('it is not valid JSON (corrupt or truncated)');
  }
  if (!isObj(v) || v.format !== ACCOUNT_FORMAT) throw new AccountFileError('it is not a fingerpost account file');
  if (v.version !== 1) throw new AccountFileError(`it has version ${String(v.version).slice(0, 10)}, this fingerpost reads version 1`);
  if (!isStr(v.address) || v.address.toLowerCase() !== expectedAddress.toLowerCase())
    throw new AccountFileError('it belongs to another address');
  if (!isHttps(v.issuer)) throw new AccountFileError('its issuer is not an https URL');
  if (!isStr(v.clientId) || !v.clientId) throw new AccountFileError('it has no client id');
  if (v.clientAuth !== 'none' && v.clientAuth !== 'client_secret_post' && v.clientAuth !== 'client_secret_basic')
    throw new AccountFileError('its client authentication method is unknown');
  if (!isStrList(v.scopes) || !isStrList(v.resources)) throw new AccountFileError('its scopes or resources are malformed');
  if (!Array.isArray(v.services)) throw new AccountFileError('its service list is malformed');
  if (v.sasl !== 'OAUTHBEARER' && v.sasl !== 'XOAUTH2') throw new AccountFileError('its SASL mechanism is unknown');
  if (typeof v.createdAt !== 'number' || !isStr(v.sealed)) throw new AccountFileError('it is missing fields');
  if (v.provider !== undefined && !isStr(v.provider)) throw new AccountFileError('its provider is malformed');
  if (v.ca !== undefined && !(isStr(v.ca) && v.ca.startsWith('/'))) throw new AccountFileError('its CA file is not an absolute path');
  if (v.connectTo !== undefined && !(isObj(v.connectTo) && Object.values(v.connectTo).every((t) => isStr(t) && /:\d{1,5}$/.test(t))))
    throw new AccountFileError('its connect-to overrides are malformed');
  return {
    ...(v as unknown as AccountFile),
    metadata: parseMetadata(v.metadata, v.issuer),
    services: v.services.map(parseService),
    store: parseStore(v.store),
  };
}

/** Parses and checks a decrypted secret against the account it was read for. */
export function parseSecret(text: string, account: Pick<AccountFile, 'address' | 'issuer'>): AccountSecret {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AccountFileError('the sealed secret is not valid JSON');
  }
  if (!isObj(v) || v.format !== SECRET_FORMAT) throw new AccountFileError('the sealed secret is not a fingerpost secret');
  if (v.address !== account.address || v.issuer !== account.issuer)
    throw new AccountFileError('the sealed secret belongs to another account or issuer');
  if (v.refreshToken !== undefined && !isStr(v.refreshToken)) throw new AccountFileError('the refresh token is malformed');
  if (!isObj(v.tokens)) throw new AccountFileError('the access tokens are malformed');
  for (const t of Object.values(v.tokens))
    if (!isObj(t) || !isStr(t.token) || typeof t.expiresAt !== 'number') throw new AccountFileError('an access token entry is malformed');
  return v as unknown as AccountSecret;
}

/** The services of a kind, in the order the document listed them (implicit TLS first). */
export function servicesOf(account: Pick<AccountFile, 'services'>, name: ServiceName): ServiceEntry[] {
  const protocol = name === 'smtp' ? 'submission' : name;
  return account.services.filter((s) => s.protocol === protocol);
}

/** The resource indicator a token for `name` should carry, if the account knows one. */
export function resourceFor(account: Pick<AccountFile, 'services'>, name: ServiceName): string | undefined {
  return servicesOf(account, name).find((s) => s.resource)?.resource;
}
