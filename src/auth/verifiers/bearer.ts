import { hash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../config/config.ts';
import { type ResourceIds, resourceIds, SCOPES } from '../../config/resources.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import { normalizeIp } from '../../net/cidr.ts';
import { authFailure } from '../failures.ts';
import { accountAddress, tokenAudiences, tokenScopes } from '../issuers/claims.ts';
import { IssuerFetchError } from '../issuers/fetch.ts';
import type { IssuerRegistry, TrustedIssuer } from '../issuers/registry.ts';
import type { RevocationList } from '../revocations.ts';
import type { AuthContext, AuthFailure, AuthOutcome, Credentials } from '../types.ts';
import type { IntrospectionClient } from './introspection.ts';
import { decodeJwt, looksLikeJwt, verifyJwt } from './jwt.ts';
import { userinfoClaims } from './userinfo.ts';

type BearerCredentials = Extract<Credentials, { kind: 'bearer' }>;
type Claims = Readonly<Record<string, unknown>>;

const EXPIRED = 'The access token expired';

export interface BearerVerifierDeps {
  readonly config: Config;
  readonly issuers: IssuerRegistry;
  readonly directory: { findByAddress(address: string): Promise<DirectoryAccount | undefined> };
  readonly introspection: IntrospectionClient;
  readonly revocations: RevocationList;
  readonly now: () => number;
}

// The ports clients name when a deployment maps standard ports onto the unprivileged defaults.
const STANDARD_PORTS: Record<string, number> = {
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  smtp: 25,
  submission: 587,
  submissions: 465,
};

interface CachedJwt {
  readonly issuer: TrustedIssuer;
  readonly claims: Claims;
  readonly exp: number;
  readonly nbf: number;
}

/**
 * Verifies bearer tokens from any trusted issuer: JWTs locally (signature,
 * `iss`, `typ`, `exp`/`nbf` with `auth.leeway`), then `aud` against this protocol's resource
 * identifier (RFC 8707, RFC 9068 §4 step 4), revocation (`jti`/`sid`, RFC 7662 introspection when
 * configured), the protocol's scope, and the account claim. Opaque tokens go to introspection or
 * userinfo. Failures carry RFC 7628 challenge data and an RFC 6750-style `tokenError`.
 */
export class BearerVerifier {
  readonly #deps: BearerVerifierDeps;
  readonly #verified = new Map<string, CachedJwt>();
  readonly #maxCached: number;
  #resourceIds: { hostname: string; publicUrl: string; ids: ResourceIds } | undefined;

  constructor(deps: BearerVerifierDeps, maxCached = 10_000) {
    this.#deps = deps;
    this.#maxCached = maxCached;
  }

  /** Forgets verified tokens (after a key or issuer change). */
  clearCache(): void {
    this.#verified.clear();
  }

  async verify(credentials: BearerCredentials, context: AuthContext): Promise<AuthOutcome> {
    // The issuer named in a challenge is only looked up when there is one to send.
    const hint = () => this.#deps.issuers.forDomain(domainOf(credentials.username));
    if (!credentials.token) return this.#fail(context, hint(), 'No access token was sent');
    if (credentials.host !== undefined && !this.#ourHost(credentials.host, context))
      return this.#fail(context, hint(), 'The host does not name this server', 'invalid_request');
    if (credentials.port !== undefined && credentials.port !== context.localPort && credentials.port !== STANDARD_PORTS[context.listener])
      return this.#fail(context, hint(), 'The port does not match this service', 'invalid_request');

    const checked = looksLikeJwt(credentials.token)
      ? await this.#jwt(credentials.token, context)
      : await this.#opaque(credentials.token, context);
    if (!checked.ok) return checked;
    const { issuer, claims, viaUserinfo } = checked;

    const granted = tokenScopes(claims);
    if (!viaUserinfo) {
      const kind = scopeKind(context, this.#ids().calendar);
      const accepted = scopesOf(issuer.options, kind);
      if (accepted.length && !accepted.some((s) => granted.includes(s)))
        return authFailure('insufficient_scope', {
          tokenError: 'The access token does not grant the scope this service needs',
          oauth: { status: 'insufficient_scope', scope: accepted[0]!, openidConfiguration: issuer.openidConfiguration },
        });
    }

    const address =
      accountAddress(claims, issuer.options) ??
      (typeof claims.username === 'string' && !viaUserinfo
        ? accountAddress({ ...claims, [issuer.options.claim]: claims.username }, issuer.options)
        : undefined);
    const account = address ? await this.#deps.directory.findByAddress(address) : undefined;
    if (!account) return this.#fail(context, issuer, 'The access token names no account here');
    if (account.disabled)
      return authFailure('authorization_failed', { publicReason: 'the account is disabled', oauth: { status: 'invalid_token' } });
    if (credentials.username !== undefined && credentials.username.toLowerCase() !== account.address) {
      const named = await this.#deps.directory.findByAddress(credentials.username);
      if (named?.id !== account.id)
        return authFailure('authorization_failed', {
          publicReason: 'the access token belongs to another user',
          oauth: { status: 'invalid_token', openidConfiguration: issuer.openidConfiguration },
        });
    }
    // Accepted until exp + leeway, and the session it opens lives exactly as long (one rule).
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 + this.#leewayMs() : undefined;
    return {
      ok: true,
      account,
      method: 'bearer',
      scopes: granted,
      issuer: issuer.issuer,
      ...(typeof claims.jti === 'string' ? { credentialId: claims.jti } : {}),
      ...(typeof claims.sid === 'string' ? { sessionId: claims.sid } : {}),
      ...(exp !== undefined ? { expiresAt: exp } : {}),
    };
  }

  async #jwt(
    token: string,
    context: AuthContext,
  ): Promise<{ ok: true; issuer: TrustedIssuer; claims: Claims; viaUserinfo: false } | AuthFailure> {
    const now = this.#deps.now();
    const leeway = this.#leewayMs();
    // The cache is keyed by a digest so it holds no usable token (one-shot hash: no Hash object).
    const key = hash('sha256', token, 'base64url');
    let entry = this.#verified.get(key);
    if (entry && (now >= entry.exp + leeway || now + leeway < entry.nbf)) {
      this.#verified.delete(key);
      if (now >= entry.exp + leeway) return this.#fail(context, entry.issuer, EXPIRED, 'invalid_token', true);
      entry = undefined;
    }
    if (!entry) {
      const decoded = decodeJwt(token);
      if (!decoded.ok) return this.#fail(context, this.#deps.issuers.forDomain(undefined), decoded.tokenError);
      const issuer = this.#deps.issuers.get(decoded.iss);
      if (!issuer) return this.#fail(context, this.#deps.issuers.forDomain(undefined), 'The token issuer is not trusted here');
      const result = await verifyJwt(decoded, issuer, Math.floor(leeway / 1000), now);
      if (!result.ok) {
        if (result.temporary)
          return authFailure('temporary', { tokenError: result.tokenError, oauth: { status: 'temporarily_unavailable' } });
        return this.#fail(context, issuer, result.tokenError, 'invalid_token', result.expired);
      }
      entry = {
        issuer,
        claims: result.claims,
        exp: (result.claims.exp as number) * 1000,
        nbf: typeof result.claims.nbf === 'number' ? result.claims.nbf * 1000 : 0,
      };
      this.#remember(key, entry);
    }
    const { issuer, claims } = entry;
    const expected = this.#audiences(issuer, context);
    if (!tokenAudiences(claims).some((a) => expected.includes(a)))
      return this.#fail(context, issuer, 'The access token is for another audience');
    if (this.#deps.revocations.isRevoked(issuer.issuer, claims)) return this.#fail(context, issuer, 'The access token was revoked');
    if (issuer.options.introspection_endpoint) {
      try {
        const answer = await this.#deps.introspection.introspect(token, issuer.options);
        if (!answer.active) return this.#fail(context, issuer, 'The access token was revoked');
      } catch (err) {
        return this.#temporary(err);
      }
    }
    return { ok: true, issuer, claims, viaUserinfo: false };
  }

  async #opaque(
    token: string,
    context: AuthContext,
  ): Promise<{ ok: true; issuer: TrustedIssuer; claims: Claims; viaUserinfo: boolean } | AuthFailure> {
    const all = this.#deps.issuers.list();
    let unreachable: unknown;
    for (const issuer of all.filter((i) => i.options.introspection_endpoint)) {
      try {
        const answer = await this.#deps.introspection.introspect(token, issuer.options);
        if (!answer.active) continue;
        const claims = answer.claims;
        if (claims.iss !== undefined && claims.iss !== issuer.issuer) continue;
        const auds = tokenAudiences(claims);
        if (auds.length && !auds.some((a) => this.#audiences(issuer, context).includes(a)))
          return this.#fail(context, issuer, 'The access token is for another audience');
        if (this.#deps.revocations.isRevoked(issuer.issuer, claims)) return this.#fail(context, issuer, 'The access token was revoked');
        return { ok: true, issuer, claims, viaUserinfo: false };
      } catch (err) {
        unreachable = err;
      }
    }
    for (const issuer of all.filter((i) => i.options.userinfo)) {
      try {
        const claims = await userinfoClaims(token, issuer);
        if (claims) return { ok: true, issuer, claims, viaUserinfo: true };
      } catch (err) {
        unreachable = err;
      }
    }
    if (unreachable) return this.#temporary(unreachable);
    // Without an issuer that checks opaque tokens, say what is wrong with this one.
    const why = all.some((i) => i.options.introspection_endpoint || i.options.userinfo)
      ? 'The access token is not valid here'
      : 'The access token is not a JWT (RFC 7519 §3: three base64url parts separated by dots)';
    return this.#fail(context, this.#deps.issuers.forDomain(undefined), why);
  }

  /**
   * RFC 7628 §3.2: a `host` must name this server: `server.hostname`, one of `auth.hostnames`, or
   * the IP address the client connected to (clients that were given an address send it). An IP
   * literal is refused when the protocol did not say which address that was.
   */
  #ourHost(value: string, context: AuthContext): boolean {
    const host = value.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    const { config } = this.#deps;
    if (host === config.server.hostname.toLowerCase() || config.auth.hostnames.some((h) => h.toLowerCase() === host)) return true;
    if (!isIP(host) || !context.localAddress) return false;
    return normalizeIp(context.localAddress) === normalizeIp(host);
  }

  /** `resourceIds(config)`, built again only when the hostname or the public URL changed. */
  #ids(): ResourceIds {
    const { server, publicUrl } = this.#deps.config;
    const cached = this.#resourceIds;
    if (cached && cached.hostname === server.hostname && cached.publicUrl === publicUrl) return cached.ids;
    const ids = resourceIds(this.#deps.config);
    this.#resourceIds = { hostname: server.hostname, publicUrl, ids };
    return ids;
  }

  /** `auth.leeway` in whole seconds, as JWT times are (RFC 7519 §2 NumericDate), in ms. */
  #leewayMs(): number {
    return Math.floor(this.#deps.config.auth.leeway / 1000) * 1000;
  }

  /** The `aud` values accepted: the issuer's list, else this protocol's resource identifier(s). */
  #audiences(issuer: TrustedIssuer, context: AuthContext): readonly string[] {
    if (issuer.options.audiences.length) return issuer.options.audiences;
    const ids = this.#ids();
    switch (context.protocol) {
      case 'imap':
        return [ids.imap];
      case 'pop3':
        return [ids.pop3];
      case 'smtp':
      case 'submission':
        return [ids.smtp];
      case 'managesieve':
        // A mail client manages its filters with the token it reads mail with.
        return [ids.sieve, ids.imap];
      case 'http':
        return context.resource ? [context.resource] : [ids.jmap, ids.calendar];
    }
  }

  /**
   * Keeps a verified token, dropping the oldest entries when full: constant work per token (a
   * scan for expired entries on every insert would cost the whole cache each time once full).
   * Expired entries met on lookup are dropped there.
   */
  #remember(key: string, entry: CachedJwt): void {
    while (this.#verified.size >= this.#maxCached) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, entry);
  }

  #temporary(err: unknown): AuthFailure {
    const text = err instanceof IssuerFetchError ? 'The token issuer cannot be reached' : 'The token cannot be checked now';
    return authFailure('temporary', { tokenError: text, oauth: { status: 'temporarily_unavailable' } });
  }

  #fail(
    context: AuthContext,
    issuer: TrustedIssuer | undefined,
    tokenError: string,
    status = 'invalid_token',
    expired = false,
  ): AuthFailure {
    const kind = scopeKind(context, this.#ids().calendar);
    const scopes = issuer ? scopesOf(issuer.options, kind) : [];
    const scope = scopes[0] ?? SCOPES[kind];
    return authFailure('invalid_token', {
      tokenError,
      ...(expired ? { expired: true as const } : {}),
      oauth: { status, scope, ...(issuer ? { openidConfiguration: issuer.openidConfiguration } : {}) },
    });
  }
}

/** `calendars` for the calendar resource (or when the route says so), else `mail`. */
/** The scope strings an issuer's tokens need for one kind of access. */
function scopesOf(
  options: { mail_scopes: readonly string[]; calendar_scopes: readonly string[]; contacts_scopes: readonly string[] },
  kind: 'mail' | 'calendars' | 'contacts',
): readonly string[] {
  return kind === 'calendars' ? options.calendar_scopes : kind === 'contacts' ? options.contacts_scopes : options.mail_scopes;
}

function scopeKind(context: AuthContext, calendarResource: string): 'mail' | 'calendars' | 'contacts' {
  if (context.scope) return context.scope;
  return context.protocol === 'http' && context.resource?.startsWith(calendarResource) ? 'calendars' : 'mail';
}

function domainOf(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf('@') ?? -1;
  return at > 0 ? address!.slice(at + 1) : undefined;
}
