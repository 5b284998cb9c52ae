import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import { resourceIds, SCOPES } from '../../config/resources.ts';
import { ipMatcher } from '../../net/cidr.ts';
import { decodeBase64 } from '../sasl/base64.ts';
import { decodeUtf8 } from '../sasl/result.ts';
import type { AuthContext, AuthCore, AuthFailure, AuthResult, Credentials } from '../types.ts';
import { type BearerError, basicChallenge, bearerChallenge } from './challenges.ts';

/** The header a trusted gateway sends its shared secret in (redacted from logs, `core/log.ts`). */
export const GATEWAY_SECRET_HEADER = 'x-fingerpost-gateway-secret';

/** What the HTTP layer hands over: headers and the connection, nothing fastify-specific. */
export interface HttpAuthRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Client IP (PROXY-aware): the gateway allow-list is checked against it. */
  readonly remote: string;
  readonly tls: boolean;
  /** The resource the request is for (`resourceIds(config).jmap`, the calendar URL, …). */
  readonly resource: string;
  /** Which access is needed; default: from the resource. */
  readonly scope?: 'mail' | 'calendars' | 'contacts';
  /** Listener name for policy; `https` unless told. */
  readonly listener?: string;
}

/** A refusal, ready to send: status, headers (one `WWW-Authenticate` line per challenge) and a problem text. */
export interface HttpAuthRefusal {
  readonly ok: false;
  readonly status: 400 | 401 | 403 | 429 | 503;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly detail: string;
  readonly failure?: AuthFailure;
}

export type HttpAuthOutcome = { readonly ok: true; readonly result: AuthResult } | HttpAuthRefusal;

type Scheme = 'bearer' | 'basic' | 'gateway';

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function header(headers: HttpAuthRequest['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * HTTP authentication for JMAP, calendars and web resources: Basic (RFC 7617),
 * Bearer (RFC 6750 §2.1) and a trusted gateway header, tried in `auth.http_schemes` order. The
 * first scheme whose credentials are present decides. A 401 carries one challenge per enabled
 * scheme, one header line each (RFC 9110 §11.6.1); Bearer errors only when a token was sent;
 * insufficient scope is 403 (RFC 6750 §3.1). Independent of fastify.
 */
export class HttpAuthenticator {
  readonly #auth: Pick<AuthCore, 'authenticate' | 'policy'>;
  readonly #config: Config;
  readonly #gatewayFrom: (ip: string) => boolean;
  readonly #gatewaySecret: Buffer | undefined;
  readonly #onIgnoredGateway: ((remote: string) => void) | undefined;

  constructor(options: { auth: Pick<AuthCore, 'authenticate' | 'policy'>; config: Config; onIgnoredGateway?: (remote: string) => void }) {
    this.#auth = options.auth;
    this.#config = options.config;
    const gw = options.config.auth.gateway;
    this.#gatewayFrom = ipMatcher(gw.from);
    this.#gatewaySecret = gw.secret ? digest(gw.secret) : undefined;
    this.#onIgnoredGateway = options.onIgnoredGateway;
  }

  /** The schemes on for a listener: Basic needs `plain`, Bearer needs OAuth and an issuer. */
  enabledSchemes(listener = 'https'): Scheme[] {
    const policy = this.#auth.policy(listener);
    return this.#config.auth.http_schemes.filter((s) => (s === 'basic' ? policy.plain : s === 'bearer' ? policy.oauth : true));
  }

  /** The `WWW-Authenticate` lines for a 401 on `resource`, optionally with a Bearer error. */
  challenges(
    resource: string,
    options: { scope?: 'mail' | 'calendars' | 'contacts'; listener?: string; bearerError?: BearerError } = {},
  ): string[] {
    const realm = this.#config.server.hostname;
    const out: string[] = [];
    for (const scheme of this.enabledSchemes(options.listener)) {
      if (scheme === 'bearer')
        out.push(bearerChallenge({ realm, resource, scope: this.#scopeFor(resource, options.scope), error: options.bearerError }));
      else if (scheme === 'basic') out.push(basicChallenge(realm));
    }
    return out;
  }

  async authenticate(req: HttpAuthRequest): Promise<HttpAuthOutcome> {
    const listener = req.listener ?? 'https';
    const schemes = this.enabledSchemes(listener);
    const authorization = header(req.headers, 'authorization');
    const space = authorization?.indexOf(' ') ?? -1;
    const scheme = authorization ? (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase() : undefined;
    const rest = authorization && space >= 0 ? authorization.slice(space + 1).trim() : '';

    for (const s of schemes) {
      if (s === 'bearer' && scheme === 'bearer') {
        if (!B64TOKEN.test(rest))
          return this.#refuse(req, 400, 'the Authorization header is not "Bearer <token>"', { error: 'invalid_request' });
        return this.#check(req, { kind: 'bearer', token: rest, mechanism: 'BEARER' }, 'bearer');
      }
      if (s === 'basic' && scheme === 'basic') {
        const creds = parseBasic(rest);
        if (!creds) return this.#refuse(req, 401, 'the Basic credentials are malformed');
        return this.#check(req, { kind: 'password', ...creds, mechanism: 'BASIC' }, 'basic');
      }
      if (s === 'gateway') {
        const user = header(req.headers, this.#config.auth.gateway.header);
        if (user === undefined) continue;
        if (!this.#trustedGateway(req)) {
          this.#onIgnoredGateway?.(req.remote);
          continue;
        }
        return this.#check(req, { kind: 'gateway', username: user.trim() }, 'gateway');
      }
    }
    return this.#refuse(req, 401, 'authentication is required');
  }

  #trustedGateway(req: HttpAuthRequest): boolean {
    if (!this.#gatewaySecret || !this.#gatewayFrom(req.remote)) return false;
    const sent = header(req.headers, GATEWAY_SECRET_HEADER);
    return sent !== undefined && timingSafeEqual(digest(sent), this.#gatewaySecret);
  }

  async #check(req: HttpAuthRequest, credentials: Credentials, scheme: Scheme): Promise<HttpAuthOutcome> {
    const context: AuthContext = {
      protocol: 'http',
      listener: req.listener ?? 'https',
      remote: req.remote,
      tls: req.tls,
      resource: req.resource,
      ...(req.scope ? { scope: req.scope } : {}),
    };
    const outcome = await this.#auth.authenticate(credentials, context);
    if (outcome.ok) return { ok: true, result: outcome };
    const retry: Record<string, string> =
      outcome.retryAfterMs !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))) } : {};
    switch (outcome.code) {
      case 'rate_limited':
        return { ok: false, status: 429, headers: retry, detail: outcome.publicReason, failure: outcome };
      case 'temporary':
        return { ok: false, status: 503, headers: { 'retry-after': '30', ...retry }, detail: outcome.publicReason, failure: outcome };
      case 'insufficient_scope':
        return this.#refuse(req, 403, outcome.publicReason, { error: 'insufficient_scope', description: outcome.tokenError }, outcome);
      case 'authorization_failed':
        return { ok: false, status: 403, headers: {}, detail: outcome.publicReason, failure: outcome };
      default:
        if (scheme === 'bearer') {
          const error = outcome.oauth?.status === 'invalid_request' ? 'invalid_request' : 'invalid_token';
          return this.#refuse(
            req,
            error === 'invalid_request' ? 400 : 401,
            outcome.publicReason,
            { error, description: outcome.tokenError },
            outcome,
          );
        }
        return this.#refuse(req, 401, outcome.publicReason, undefined, outcome);
    }
  }

  #refuse(
    req: HttpAuthRequest,
    status: 400 | 401 | 403,
    detail: string,
    bearerError?: BearerError,
    failure?: AuthFailure,
  ): HttpAuthRefusal {
    let lines = this.challenges(req.resource, { scope: req.scope, listener: req.listener, bearerError });
    // 403 insufficient_scope answers with the Bearer challenge alone (RFC 6750 §3.1).
    if (status === 403) lines = lines.filter((l) => l.startsWith('Bearer'));
    // A 401 must carry a challenge (RFC 9110 §11.6.1); with every scheme off there is none to offer.
    if (status === 401 && !lines.length) return { ok: false, status: 403, headers: {}, detail: 'no way of signing in is enabled here' };
    return { ok: false, status, headers: lines.length ? { 'www-authenticate': lines } : {}, detail, ...(failure ? { failure } : {}) };
  }

  #scopeFor(resource: string, scope: 'mail' | 'calendars' | 'contacts' | undefined): string {
    const kind = scope ?? (resource.startsWith(resourceIds(this.#config).calendar) ? 'calendars' : 'mail');
    return SCOPES[kind];
  }
}

/** Decodes Basic credentials (RFC 7617 §2): strict base64 of UTF-8 `user-id ":" password`. */
export function parseBasic(token68: string): { username: string; password: string } | undefined {
  const bytes = decodeBase64(token68, 8192);
  if (!bytes.ok) return undefined;
  const text = decodeUtf8(bytes.value);
  if (!text.ok) return undefined;
  const colon = text.value.indexOf(':');
  if (colon <= 0 || colon === text.value.length - 1) return undefined;
  return { username: text.value.slice(0, colon), password: text.value.slice(colon + 1) };
}
