import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { accountAddress } from '../auth/issuers/claims.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerAdminIdentityRoutes } from './admin-identity-routes.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { registerCalendarRoutes } from './calendar-routes.ts';
import { formParser, refuse, signedIn, type WebDeps } from './context.ts';
import { registerFilterRoutes } from './filter-routes.ts';
import { registerSecurityRoutes } from './security-routes.ts';
import { registerSharingRoutes } from './sharing-routes.ts';
import { registerVacationRoutes } from './vacation-routes.ts';
import { html, ICON, ICON_PATH, page, STYLE, STYLE_PATH, sendHtml } from './page.ts';
import { LOGIN_COOKIE, readCookie, SESSION_COOKIE, setCookie, WebSessions } from './session.ts';
import {
  ACCOUNT_CLIENT_ID,
  discoveredEndpoints,
  ensureAccountClient,
  type LoginState,
  localKeys,
  RelyingParty,
  SignInError,
} from './sign-in.ts';

export type { WebDeps } from './context.ts';

const SESSION_TTL_MS = 8 * 3_600_000;
const LOGIN_COOKIE_SEC = 600;

/** Secrets every node shares (kept by the embedded provider's secret store). */
export interface WebSecrets {
  /** Signs session and login cookies and derives CSRF tokens. */
  readonly cookie: string;
  /** The account page's client secret at the embedded provider. */
  readonly client: string;
}

/** A path on this server to return to after signing in; anything else becomes `/account`. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(account|admin)(\/[A-Za-z0-9._~/-]*)?$/.test(value) && value.length <= 200 ? value : '/account';
}

/**
 * Mounts the account page (`/account`) and admin console (`/admin`) on the HTTPS app: registers
 * the page as a client of the embedded provider, signs people in through it or through any
 * trusted issuer with `account_sign_in` (src/web/sign-in.ts), and serves the stylesheet under its hashed name. Needs `idp.enabled`.
 */
export async function registerWeb(app: FastifyInstance, deps: WebDeps, secrets: WebSecrets): Promise<void> {
  const redirectUri = `${deps.config.publicUrl}/account/callback`;
  await ensureAccountClient(deps.idp.clients, { name: `${deps.config.server.name} account page`, secret: secrets.client, redirectUri });
  const web = new WebSessions(secrets.cookie, { ttlMs: SESSION_TTL_MS });
  const leewaySec = Math.round(deps.config.auth.leeway / 1000);
  // The embedded provider first, then every trusted issuer configured for account sign-in.
  const parties: Array<{ label: string; rp: RelyingParty }> = [
    {
      label: deps.config.server.name,
      rp: new RelyingParty({
        issuer: deps.idp.issuer,
        clientId: ACCOUNT_CLIENT_ID,
        clientSecret: secrets.client,
        redirectUri,
        endpoints: async () => ({ authorization: `${deps.idp.issuer}/auth`, token: `${deps.idp.issuer}/token` }),
        getKey: localKeys(() => deps.idp.publicJwks()),
        account: (claims) => (typeof claims.sub === 'string' ? claims.sub : undefined),
        ca: deps.localCaPem,
        leewaySec,
      }),
    },
  ];
  for (const options of deps.config.auth.issuers) {
    const trusted = deps.issuers.get(options.issuer);
    if (!options.account_sign_in || !trusted || !options.client_id) continue;
    let pem: Promise<string | undefined> | undefined;
    const ca = () => (pem ??= options.ca_file ? readFile(options.ca_file, 'utf8') : Promise.resolve(undefined));
    const caText = await ca();
    parties.push({
      label: new URL(options.issuer).host,
      rp: new RelyingParty({
        issuer: options.issuer,
        clientId: options.client_id,
        clientSecret: options.client_secret,
        redirectUri,
        endpoints: discoveredEndpoints(options.issuer, ca),
        getKey: trusted.keys.getKey,
        account: (claims) => accountAddress(claims, options),
        ...(caText ? { ca: () => caText } : {}),
        leewaySec,
      }),
    });
  }
  const name = deps.config.server.name;
  /** A page for someone not (or no longer) signed in: a title and a few lines. */
  const notice = (reply: FastifyReply, status: number, title: string, body: string) =>
    sendHtml(reply, status, page(name, title, '/account/error', undefined, `<h1>${html(title)}</h1>\n${body}`));

  app.register(async (scope) => {
    formParser(scope);

    scope.get(STYLE_PATH, async (_request, reply) =>
      reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(STYLE),
    );

    scope.get(ICON_PATH, async (_request, reply) =>
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=31536000, immutable').send(ICON),
    );
    // Browsers ask for /favicon.ico on pages without an icon link (the provider's sign-in pages).
    scope.get('/favicon.ico', async (_request, reply) =>
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(ICON),
    );

    scope.get('/account/sign-in', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const next = safeNext(query.next);
      const via = typeof query.via === 'string' && /^\d{1,3}$/.test(query.via) ? parties[Number(query.via)] : undefined;
      if (!via && parties.length > 1) {
        const choices = parties
          .map(
            (p, i) =>
              `<li><a class="button" href="/account/sign-in?via=${i}&amp;next=${encodeURIComponent(next)}">Sign in with ${html(p.label)}</a></li>`,
          )
          .join('\n');
        return notice(
          reply,
          200,
          'Sign in',
          `<p class="lead">Choose where your account signs in.</p>\n<ul class="choices">\n${choices}\n</ul>`,
        );
      }
      let started: { url: string; login: LoginState };
      try {
        started = await (via ?? parties[0]!).rp.start(next);
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message, issuer: via?.rp.issuer }, 'account page sign-in could not start');
        return notice(reply, 502, 'Sign-in failed', '<p class="error" role="alert">The sign-in service could not be reached.</p>');
      }
      const { url, login } = started;
      return reply
        .code(303)
        .header('cache-control', 'no-store')
        .header('set-cookie', setCookie(LOGIN_COOKIE, web.seal(login), LOGIN_COOKIE_SEC, 'Lax'))
        .redirect(url, 303);
    });

    scope.get('/account/callback', async (request, reply) => {
      const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
      const login = web.open<LoginState>(readCookie(request.headers.cookie, LOGIN_COOKIE));
      let sub: string;
      const rp = parties.find((p) => p.rp.issuer === (login?.iss ?? deps.idp.issuer))?.rp ?? parties[0]!.rp;
      try {
        sub = await rp.finish(query, login);
      } catch (err) {
        const text = err instanceof SignInError ? err.message : 'Signing in failed.';
        if (!(err instanceof SignInError)) deps.logger.warn({ err: (err as Error).message }, 'account page sign-in failed');
        reply.header('set-cookie', setCookie(LOGIN_COOKIE, '', 0, 'Lax'));
        return notice(
          reply,
          400,
          'Sign-in failed',
          `<p class="error" role="alert">${html(text)}</p>\n<p><a href="/account/sign-in">Try again</a></p>`,
        );
      }
      const account = await deps.directory.findByAddress(sub);
      if (!account || account.disabled || account.address !== sub)
        return refuse(deps, reply, 403, 'No account', 'This sign-in names no enabled account of this server.');
      const { value, session } = web.issue(account, rp.issuer);
      deps.logger.info({ event: 'web_signed_in', account: account.address, issuer: rp.issuer }, 'account page sign-in');
      return reply
        .code(303)
        .header('cache-control', 'no-store')
        .header('set-cookie', [setCookie(LOGIN_COOKIE, '', 0, 'Lax'), setCookie(SESSION_COOKIE, value, web.maxAge(session), 'Strict')])
        .redirect(safeNext(login?.next), 303);
    });

    scope.post('/account/sign-out', async (request, reply) => {
      const s = await signedIn(deps, web, request, reply);
      if (!s) return reply;
      reply.header('set-cookie', setCookie(SESSION_COOKIE, '', 0, 'Strict'));
      return notice(
        reply,
        200,
        'Signed out',
        `<p class="lead">You left the account page. Your apps stay signed in.</p>\n<p><a href="/account/sign-in">Sign in again</a> · <a href="${html(deps.idp.issuer)}/session/end">Also sign out of ${html(name)} in this browser</a></p>`,
      );
    });

    registerAccountRoutes(scope, deps, web);
    registerSecurityRoutes(scope, deps, web);
    registerFilterRoutes(scope, deps, web);
    registerSharingRoutes(scope, deps, web);
    registerCalendarRoutes(scope, deps, web);
    registerVacationRoutes(scope, deps, web);
    registerAdminRoutes(scope, deps, web);
    registerAdminIdentityRoutes(scope, deps, web);
  });
}
