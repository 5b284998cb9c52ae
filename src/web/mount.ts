import type { FastifyInstance, FastifyReply } from 'fastify';
import { registerAccountRoutes } from './account-routes.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { formParser, refuse, signedIn, type WebDeps } from './context.ts';
import { registerFilterRoutes } from './filter-routes.ts';
import { registerSecurityRoutes } from './security-routes.ts';
import { registerSharingRoutes } from './sharing-routes.ts';
import { html, ICON, ICON_PATH, page, STYLE, STYLE_PATH, sendHtml } from './page.ts';
import { LOGIN_COOKIE, readCookie, SESSION_COOKIE, setCookie, WebSessions } from './session.ts';
import { ACCOUNT_CLIENT_ID, ensureAccountClient, type LoginState, RelyingParty, SignInError } from './sign-in.ts';

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
 * the page as a client of the embedded provider, signs people in through it (src/web/sign-in.ts),
 * and serves the stylesheet under its hashed name. Needs `idp.enabled`.
 */
export async function registerWeb(app: FastifyInstance, deps: WebDeps, secrets: WebSecrets): Promise<void> {
  const redirectUri = `${deps.config.publicUrl}/account/callback`;
  await ensureAccountClient(deps.idp.clients, { name: `${deps.config.server.name} account page`, secret: secrets.client, redirectUri });
  const web = new WebSessions(secrets.cookie, { ttlMs: SESSION_TTL_MS });
  const rp = new RelyingParty({
    issuer: deps.idp.issuer,
    clientId: ACCOUNT_CLIENT_ID,
    clientSecret: secrets.client,
    redirectUri,
    jwks: () => deps.idp.publicJwks(),
    ca: deps.localCaPem,
    leewaySec: Math.round(deps.config.auth.leeway / 1000),
  });
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
      const { url, login } = rp.start(safeNext((request.query as Record<string, unknown>).next));
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
      const { value, session } = web.issue(account, deps.idp.issuer);
      deps.logger.info({ event: 'web_signed_in', account: account.address }, 'account page sign-in');
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
    registerAdminRoutes(scope, deps, web);
  });
}
