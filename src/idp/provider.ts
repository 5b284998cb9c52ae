import type { EventEmitter } from 'node:events';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.ts';
import { resourceIds, SCOPES } from '../config/resources.ts';
import type { Logger } from '../core/log.ts';
import type { Directory } from '../directory/directory.ts';
import type { Db } from '../store/db.ts';
import { findAccountIn } from './accounts.ts';
import { SqlAdapter } from './adapter.ts';
import type { IssuedTokens } from './issued-tokens.ts';
import { type KeySet, providerJwks, SIGNING_ALG } from './keys.ts';
import { deviceConfirmPage, deviceInputPage, logoutPage, messagePage, originOf, PAGE_HEADERS, pageCsp } from './pages.ts';
import { applyRegistrationPolicy, EXTRA_CLIENT_METADATA } from './registration-policy.ts';
import { asList, defaultResourcesFor, knownResources, RESOURCE_SCOPES } from './resources.ts';

export interface ProviderDeps {
  readonly issuer: string;
  readonly config: Config;
  readonly db: Db;
  readonly directory: Directory;
  readonly keys: KeySet;
  /** Cookie signing keys, newest first (Keygrip). */
  readonly cookieKeys: readonly string[];
  readonly tokens: IssuedTokens;
  readonly logger: Logger;
  /** oidc-provider revoked a grant: end the sessions of its tokens. */
  readonly onGrantRevoked: (grantId: string) => void;
}

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/** The artefact a token request redeems (code, refresh token, device code); it holds the granted resources. */
function grantSource(ctx: KoaContextWithOIDC) {
  const e = ctx.oidc.entities;
  return e.AuthorizationCode ?? e.RefreshToken ?? e.DeviceCode;
}

function clientDisplay(ctx: KoaContextWithOIDC): { name: string; id: string; verified: boolean } {
  const meta = (ctx.oidc.client?.metadata() ?? {}) as Record<string, unknown>;
  return {
    id: ctx.oidc.client?.clientId ?? '',
    name: typeof meta.client_name === 'string' ? meta.client_name : '',
    verified: meta.fingerpost_verified === true,
  };
}

/**
 * Builds the oidc-provider instance of the embedded issuer: our SQL adapter, our keys, accounts
 * from the directory, our pages, no development defaults. Implements OIDC Core + Discovery,
 * RFC 7636 (S256, required for public clients), RFC 8252 loopback redirects, RFC 8628 device
 * flow, RFC 7591 open registration for native public clients, RFC 8707 resources with RFC 9068
 * JWT access tokens, RFC 7662/7009 introspection and revocation, RFC 9207 `iss`, RP-initiated and
 * back-channel logout.
 */
export function buildProvider(deps: ProviderDeps): Provider {
  const { config, issuer } = deps;
  const ids = resourceIds(config);
  const ours = new Set(knownResources(ids));
  const mountPath = new URL(issuer).pathname.replace(/\/$/, '');
  const serverName = config.server.name;
  const idp = config.idp;

  const configuration: Configuration = {
    adapter: (name: string) => new SqlAdapter(deps.db, name),
    jwks: providerJwks(deps.keys) as Configuration['jwks'],
    findAccount: findAccountIn(deps.directory),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The mail and calendars scopes are listed too, so clients may register them (RFC 7591 `scope`).
    scopes: ['openid', 'offline_access', 'email', 'profile', SCOPES.mail, SCOPES.calendars, SCOPES.contacts],
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: SIGNING_ALG,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientBasedCORS: () => false,
    clockTolerance: seconds(config.auth.leeway),
    cookies: {
      names: { session: 'fp_oidc_session', interaction: 'fp_oidc_interaction', resume: 'fp_oidc_resume' },
      long: { httpOnly: true, secure: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, secure: true, sameSite: 'lax', signed: true },
      keys: [...deps.cookieKeys],
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: seconds(idp.access_token_ttl),
      AuthorizationCode: 60,
      IdToken: seconds(idp.id_token_ttl),
      RefreshToken: seconds(idp.refresh_token_ttl),
      DeviceCode: seconds(idp.device_code_ttl),
      Interaction: 3600,
      Session: seconds(idp.session_ttl),
      // Grants outlive refresh tokens: each rotation issues a new refresh token under the same grant.
      Grant: 365 * 86_400,
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    extraClientMetadata: {
      properties: [...EXTRA_CLIENT_METADATA, 'fingerpost_verified'],
      validator(ctx, key, value, metadata) {
        // ctx is set only for registration requests; clients an admin added are not re-checked.
        if (!ctx) return;
        if (key === 'fingerpost_verified' && value !== undefined)
          throw new errors.InvalidClientMetadata('fingerpost_verified is set by the administrator only');
        if (key === 'software_id')
          applyRegistrationPolicy(metadata as Record<string, unknown>, (ctx.oidc.body ?? {}) as Record<string, unknown>);
      },
    },
    async extraTokenClaims(_ctx, token) {
      const t = token as { accountId?: string; sid?: string };
      return t.accountId ? { email: t.accountId, ...(t.sid ? { sid: t.sid } : {}) } : undefined;
    },
    formats: {
      customizers: {
        // One token for several services (RFC 8707 §2.2 allows a token for multiple resources):
        // when the request names several granted resources, or names none and the grant has
        // several, `aud` lists them all. Each token is recorded so grant revocation can reach it.
        async jwt(ctx, token, jwt) {
          const source = grantSource(ctx);
          const wanted = asList(ctx.oidc.params?.resource ?? source?.resource);
          if (wanted.length > 1) jwt.payload.aud = wanted;
          const t = token as unknown as { jti: string; grantId?: string; sessionUid?: string; accountId?: string; clientId: string };
          const p = jwt.payload as { iat: number; exp: number };
          await deps.tokens.record({
            jti: t.jti,
            grantId: t.grantId ?? null,
            sid: t.sessionUid ?? null,
            account: t.accountId ?? '',
            clientId: t.clientId,
            issuedAt: p.iat * 1000,
            expiresAt: p.exp * 1000,
          });
        },
      },
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      claimsParameter: { enabled: false },
      clientCredentials: { enabled: false },
      // RFC 7662 §4 / RFC 7009 §2.1: a public client sees and revokes only its own tokens.
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      registration: {
        enabled: idp.registration,
        initialAccessToken: false,
        issueRegistrationAccessToken: true,
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage(serverName, form);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = messagePage(serverName, 'Signed out', 'You are signed out. You can close this page.');
        },
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        deviceInfo: (ctx) => ({ ua: ctx.get('user-agent').slice(0, 200) }),
        async userCodeInputSource(ctx, form, _out, err) {
          // A code posted without a live provider session (no cookie, or it expired): oidc-provider
          // re-renders this form on a session it never saved and then fails to persist it (a 500).
          // Start over with a GET, which saves a session and shows the form with a fresh token.
          const session = ctx.oidc.session as unknown as { exp?: unknown; touched?: boolean } | undefined;
          if (err && session && typeof session.exp !== 'number') {
            session.touched = false;
            ctx.redirect(ctx.oidc.urlFor('code_verification'));
            ctx.status = 303;
            return;
          }
          let error: string | undefined;
          const name = (err as { name?: string } | undefined)?.name;
          if (err && ((err as { userCode?: string }).userCode || name === 'NoCodeError'))
            error = 'That code is not valid. Check it and try again.';
          else if (name === 'ExpiredError') error = 'That code has expired. Start again on your device.';
          else if (name === 'AlreadyUsedError') error = 'That code was already used.';
          else if (name === 'AbortedError') error = 'The request was cancelled.';
          else if (err) error = 'Something went wrong. Start again on your device.';
          ctx.type = 'html';
          // oidc-provider's form carries an inline focus handler our CSP would block anyway.
          ctx.body = deviceInputPage(serverName, form.replace(/\sonfocus="[^"]*"/, ''), error);
        },
        async userCodeConfirmSource(ctx, form, _client, _deviceInfo, userCode) {
          ctx.type = 'html';
          ctx.body = deviceConfirmPage(serverName, form, clientDisplay(ctx), userCode);
        },
        async successSource(ctx) {
          ctx.type = 'html';
          ctx.body = messagePage(serverName, 'Device connected', 'Your device is signed in. You can close this page and return to it.');
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, _client, oneOf) {
          if (oneOf) {
            const granted = grantSource(ctx)?.resourceIndicators;
            for (const r of oneOf) if (granted && !granted.has(r)) throw new errors.InvalidTarget(`resource ${r} was not granted`);
            return oneOf[0];
          }
          const list = defaultResourcesFor(ctx.oidc.params?.scope as string | undefined, ids);
          return list.length ? list : undefined;
        },
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, resource) {
          if (!ours.has(resource)) throw new errors.InvalidTarget(`${resource} is not a resource of this server`);
          return {
            scope: RESOURCE_SCOPES,
            accessTokenFormat: 'jwt',
            accessTokenTTL: seconds(idp.access_token_ttl),
            jwt: { sign: { alg: SIGNING_ALG } },
          };
        },
      },
    },
    async renderError(ctx, out) {
      const description = typeof out.error_description === 'string' ? out.error_description : String(out.error ?? 'error');
      ctx.type = 'html';
      ctx.body = messagePage(serverName, 'Sign-in failed', description, true);
    },
    discovery: {
      service_documentation: `${config.publicUrl}/`,
    },
    // The provider only fetches URLs an administrator registered (back-channel logout URIs; open
    // registration refuses every URL the server would fetch), and a webmail on the same host or
    // intranet is the usual back-channel target, so oidc-provider's block of private addresses is
    // lifted here. Redirects are still not followed and requests time out after 2.5 s.
    fetch: (url, options) => {
      const { dispatcher: _private, ...rest } = options as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
  };

  const provider = new Provider(issuer, configuration);

  provider.use(async (ctx, next) => {
    // OIDC Core §11 grants offline_access only with prompt=consent; mail clients ask for
    // offline_access without it, so such a request is treated as asking for consent (it is shown).
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const q = new URLSearchParams(ctx.querystring);
      const prompt = new Set((q.get('prompt') ?? '').split(' ').filter(Boolean));
      if (
        (q.get('scope') ?? '').split(' ').includes('offline_access') &&
        !prompt.has('consent') &&
        !prompt.has('none') &&
        q.getAll('prompt').length <= 1
      ) {
        prompt.add('consent');
        q.set('prompt', [...prompt].join(' '));
        ctx.querystring = q.toString();
        // oidc-provider derives its mount path from originalUrl minus url: keep them in step.
        (ctx.req as { originalUrl?: string }).originalUrl = `${mountPath}${ctx.url}`;
      }
    }
    for (const [k, v] of Object.entries(PAGE_HEADERS)) if (k !== 'content-type') ctx.set(k, v);
    ctx.set('strict-transport-security', 'max-age=31536000');
    // script-src exists so oidc-provider can add the hash of its form_post auto-submit script.
    ctx.set('content-security-policy', pageCsp());
    await next();
    if (ctx.status === 404 && ctx.body == null) {
      // Same problem+json shape as every other unknown path of the HTTPS app (RFC 9457).
      ctx.status = 404;
      ctx.type = 'application/problem+json';
      ctx.body = JSON.stringify({ type: 'about:blank', status: 404, detail: `no resource at ${ctx.method} ${mountPath}${ctx.path}` });
    }
    if (ctx.response.is('html')) {
      const target = originOf(ctx.oidc?.params?.redirect_uri);
      const csp = ctx.response.get('content-security-policy');
      if (target && typeof csp === 'string')
        ctx.set('content-security-policy', csp.replace("form-action 'self'", `form-action 'self' ${target}`));
    } else {
      ctx.remove('content-security-policy');
    }
    // RFC 9728 §4: name the resources this server accepts tokens for.
    if (ctx.oidc?.route === 'discovery' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as Record<string, unknown>).protected_resources = [...ours];
    }
    if (ctx.oidc?.route === 'token' && ctx.status === 200) {
      // Best effort: the tokens are issued (and the old refresh token spent); a lookup failure must not turn that into a 500.
      await addRefreshExpiry(provider, ctx.body).catch((err: Error) =>
        deps.logger.warn({ err: err.message }, 'cannot tell when a refresh token ends'),
      );
    }
  });

  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => deps.onGrantRevoked(grantId));
  provider.on('server_error', (_ctx: unknown, err: Error) => deps.logger.error({ err: err.message }, 'oidc provider error'));
  // Errors that escape oidc-provider reach Koa, whose default handler prints a stack to stderr
  // outside the JSON log; with a listener of our own, Koa only answers 500 and we log one line.
  // oidc-provider 9's Provider is the Koa app itself (its `.app` getter only prints a deprecation).
  (provider as unknown as EventEmitter).on('error', (err: Error & { status?: number; expose?: boolean }) => {
    if (err.expose || (err.status !== undefined && err.status < 500)) return;
    deps.logger.error({ err: err.message }, 'oidc provider request failed');
  });
  provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) =>
    deps.logger.warn({ client: client.clientId, err: err.message }, 'back-channel logout delivery failed'),
  );
  return provider;
}

/**
 * Adds `refresh_expires_in` (the extension Keycloak made common) to a token response that carries
 * a refresh token: seconds until the sign-in ends, the refresh token's own expiry or its grant's,
 * whichever is first. `fingerpost token --keepalive` warns from it before a sign-in runs out.
 */
async function addRefreshExpiry(provider: Provider, body: unknown): Promise<void> {
  if (!body || typeof body !== 'object') return;
  const response = body as Record<string, unknown>;
  if (typeof response.refresh_token !== 'string') return;
  const token = await provider.RefreshToken.find(response.refresh_token, { ignoreExpiration: true });
  if (!token?.exp) return;
  const grant = token.grantId ? await provider.Grant.find(token.grantId, { ignoreExpiration: true }) : undefined;
  const ends = Math.min(token.exp, grant?.exp ?? Number.POSITIVE_INFINITY);
  response.refresh_expires_in = Math.max(0, ends - Math.floor(Date.now() / 1000));
}
