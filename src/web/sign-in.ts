import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { fetchJson } from '../auth/issuers/fetch.ts';
import { openidConfigurationUrl } from '../auth/issuers/metadata.ts';
import type { IdpClients } from '../idp/clients.ts';
import { sameSecret } from '../core/constant-time.ts';

/** What travels in the login cookie between the redirect to the issuer and the callback. */
export interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** Where to go after signing in (a path on this server). */
  readonly next: string;
  readonly at: number;
  /** The issuer this sign-in went to. */
  readonly iss?: string;
}

/** An issuer's authorization, token and userinfo endpoints (OIDC Discovery §3). */
export interface IssuerEndpoints {
  readonly authorization: string;
  readonly token: string;
  readonly userinfo?: string;
}

export interface RelyingPartyOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `PUBLIC_URL/account/callback`. */
  readonly redirectUri: string;
  /** The issuer's endpoints (fixed for the embedded provider, discovered for others). */
  readonly endpoints: () => Promise<IssuerEndpoints>;
  /** The issuer's signing keys, as a jose key resolver. */
  readonly getKey: JWTVerifyGetKey;
  /** The account address the verified claims name (undefined: nobody here). */
  readonly account: (claims: Readonly<Record<string, unknown>>) => string | undefined;
  /** Extra CA certificate for the token request (the local CA, when it made the server certificate). */
  readonly ca?: () => string | undefined;
  readonly leewaySec: number;
  readonly now?: () => number;
}

/** Why signing in failed, in words for the page (never a token). */
export class SignInError extends Error {}

const LOGIN_TTL_MS = 10 * 60_000;

// 32 octets: a 43-character PKCE verifier, the least RFC 7636 §4.1 allows.
const random = () => randomBytes(32).toString('base64url');

/**
 * The account page as an OpenID Connect relying party (OIDC Core 1.0 §3.1, authorization code
 * flow) of the embedded provider or a trusted external issuer: a confidential client with PKCE
 * (RFC 7636 S256), `state` and `nonce`; the ID token is verified (signature, `iss`, `aud`, `exp`,
 * `nonce`) before the account it names is trusted; a claim missing from it is read from the
 * userinfo endpoint (OIDC Core §5.3) with the access token of the same response.
 */
export class RelyingParty {
  readonly #o: RelyingPartyOptions;

  constructor(options: RelyingPartyOptions) {
    this.#o = options;
  }

  get issuer(): string {
    return this.#o.issuer;
  }

  /** The authorization request URL and the state to keep in the login cookie. */
  async start(next: string): Promise<{ url: string; login: LoginState }> {
    const login: LoginState = { state: random(), nonce: random(), verifier: random(), next, at: this.#now(), iss: this.#o.issuer };
    const url = new URL((await this.#o.endpoints()).authorization);
    url.search = new URLSearchParams({
      client_id: this.#o.clientId,
      redirect_uri: this.#o.redirectUri,
      response_type: 'code',
      scope: 'openid email',
      state: login.state,
      nonce: login.nonce,
      code_challenge: createHash('sha256').update(login.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.href, login };
  }

  /** Checks the callback against the login state, redeems the code and returns the account address it names. */
  async finish(query: URLSearchParams, login: LoginState | undefined): Promise<string> {
    if (!login || typeof login.state !== 'string' || this.#now() - login.at > LOGIN_TTL_MS)
      throw new SignInError('This sign-in has expired or was started in another browser.');
    if (!sameSecret(query.get('state') ?? '', login.state)) throw new SignInError('This sign-in does not belong to this browser.');
    const error = query.get('error');
    if (error) throw new SignInError(error === 'access_denied' ? 'Sign-in was cancelled.' : 'The sign-in service refused the request.');
    const code = query.get('code');
    if (!code || code.length > 2048) throw new SignInError('The sign-in service sent no code.');
    const basic = Buffer.from(`${encodeURIComponent(this.#o.clientId)}:${encodeURIComponent(this.#o.clientSecret)}`).toString('base64');
    const ca = this.#o.ca?.();
    const endpoints = await this.#o.endpoints().catch(() => {
      throw new SignInError('The sign-in service could not be reached.');
    });
    const res = await fetchJson(endpoints.token, {
      headers: { authorization: `Basic ${basic}` },
      form: { grant_type: 'authorization_code', code, redirect_uri: this.#o.redirectUri, code_verifier: login.verifier },
      ...(ca ? { ca } : {}),
    }).catch(() => {
      throw new SignInError('The sign-in service could not be reached.');
    });
    const idToken = res.body.id_token;
    if (res.status !== 200 || typeof idToken !== 'string') throw new SignInError('The sign-in service did not accept the code.');
    const { payload } = await jwtVerify(idToken, this.#o.getKey, {
      issuer: this.#o.issuer,
      audience: this.#o.clientId,
      clockTolerance: this.#o.leewaySec,
      currentDate: new Date(this.#now()),
    }).catch(() => {
      throw new SignInError('The sign-in service sent an ID token that does not verify.');
    });
    if (typeof payload.nonce !== 'string' || !sameSecret(payload.nonce, login.nonce))
      throw new SignInError('The ID token belongs to another sign-in.');
    if (typeof payload.sub !== 'string' || !payload.sub) throw new SignInError('The ID token names no account.');
    let address = this.#o.account(payload);
    const accessToken = res.body.access_token;
    if (!address && endpoints.userinfo && typeof accessToken === 'string') {
      const info = await fetchJson(endpoints.userinfo, {
        headers: { authorization: `Bearer ${accessToken}` },
        ...(ca ? { ca } : {}),
      }).catch(() => undefined);
      // OIDC Core §5.3.2: the userinfo `sub` must be the ID token's.
      if (info?.status === 200 && info.body.sub === payload.sub) address = this.#o.account(info.body);
    }
    if (!address) throw new SignInError('The sign-in service did not name an account of this server.');
    return address;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

/** A jose key resolver over a JWKS the caller hands over (the embedded provider's, in-process). */
export function localKeys(jwks: () => Promise<JSONWebKeySet>): JWTVerifyGetKey {
  return async (header, token) => createLocalJWKSet(await jwks())(header, token);
}

const DISCOVERY_MAX_AGE_MS = 3_600_000;

/**
 * An external issuer's endpoints from its OpenID configuration (OIDC Discovery §4), whose
 * `issuer` must equal the configured one exactly (§4.3); cached for an hour.
 */
export function discoveredEndpoints(issuer: string, ca: () => Promise<string | undefined>): () => Promise<IssuerEndpoints> {
  let cached: { at: number; value: IssuerEndpoints } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < DISCOVERY_MAX_AGE_MS) return cached.value;
    const pem = await ca();
    const res = await fetchJson(openidConfigurationUrl(issuer), pem ? { ca: pem } : {});
    const b = res.body;
    const https = (v: unknown) => (typeof v === 'string' && /^https:\/\//.test(v) ? v : undefined);
    const authorization = https(b.authorization_endpoint);
    const token = https(b.token_endpoint);
    if (res.status !== 200 || b.issuer !== issuer || !authorization || !token)
      throw new Error(`no usable OpenID configuration at ${issuer}`);
    const userinfo = https(b.userinfo_endpoint);
    cached = { at: Date.now(), value: { authorization, token, ...(userinfo ? { userinfo } : {}) } };
    return cached.value;
  };
}

/** The client id of the account page at the embedded provider. */
export const ACCOUNT_CLIENT_ID = 'fingerpost-account';

/**
 * Registers the account page at the embedded provider (a verified, confidential web client with
 * the given secret), or re-registers it when the public URL, and so its redirect URI, changed.
 */
export async function ensureAccountClient(
  clients: IdpClients,
  options: { name: string; secret: string; redirectUri: string },
): Promise<void> {
  const existing = (await clients.list()).find((c) => c.clientId === ACCOUNT_CLIENT_ID);
  if (existing && existing.redirectUris.length === 1 && existing.redirectUris[0] === options.redirectUri && existing.name === options.name)
    return;
  if (existing) await clients.remove(ACCOUNT_CLIENT_ID);
  await clients
    .add({
      clientId: ACCOUNT_CLIENT_ID,
      name: options.name,
      redirectUris: [options.redirectUri],
      grantTypes: ['authorization_code'],
      scope: 'openid email',
      secret: options.secret,
    })
    .catch((err: Error & { code?: string }) => {
      // Another node registered it at the same moment.
      if (err.code !== 'already_exists') throw err;
    });
}
