// The reference deployment's gateway sign-in service, behind nginx (deploy/reference/nginx.conf),
// in the way of oauth2-proxy: nginx asks GET /internal/auth on every request (auth_request); a
// browser without a session is sent by /internal/sign-in to the organisation's OpenID provider
// (deploy/reference/provider.ts) with the authorization code flow and PKCE (RFC 6749 §4.1,
// RFC 7636 S256, OpenID Connect Core 1.0 §3.1); /_gateway/callback checks state, nonce and the ID
// token (openid-client), keeps the session here and sets its cookie (HttpOnly, Secure,
// SameSite=Lax, `__Host-`); nginx then passes the ID token's `sub` to Fingerpost in the trusted
// header. /_gateway/sign-out ends the session here and at the provider (RP-Initiated Logout 1.0).
// A Bearer token of the provider for the gateway resource still works for scripts (its
// /gateway-auth). Sessions live in memory: a restart signs every browser out.
//
//   node gateway.ts --issuer https://idp.example:9443 --ca ca.pem --public-url https://gateway.example:8443 \
//     --client gw:secret --port 4180
//
// Listens on loopback only (nginx is in front); prints one JSON line {"port"} once it listens.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import * as oidc from 'openid-client';

const { values: a } = parseArgs({
  options: {
    issuer: { type: 'string' },
    ca: { type: 'string' },
    'public-url': { type: 'string' },
    client: { type: 'string', default: process.env.GATEWAY_CLIENT ?? '' },
    port: { type: 'string', default: '4180' },
    bind: { type: 'string', default: '127.0.0.1' },
    'session-hours': { type: 'string', default: '8' },
  },
});
const need = (k: keyof typeof a): string => {
  const v = a[k];
  if (typeof v !== 'string' || !v) throw new Error(`--${k} is required`);
  return v;
};

// The provider's certificate comes from the deployment's own CA: trust it next to the system's.
if (a.ca) tls.setDefaultCACertificates([...tls.getCACertificates('default'), readFileSync(a.ca, 'utf8')]);

const ISSUER = need('issuer');
const PUBLIC = new URL(need('public-url')).origin;
const [CLIENT_ID, CLIENT_SECRET] = need('client').split(':') as [string, string | undefined];
if (!CLIENT_SECRET) throw new Error('--client is id:secret');
const SESSION_MS = Number(a['session-hours']) * 3_600_000;
if (!(SESSION_MS > 0)) throw new Error('--session-hours must be a positive number');
const LOGIN_MS = 10 * 60_000;
/** Bounds on what a crowd of browsers can make this process keep. */
const MAX_SESSIONS = 50_000;
const MAX_LOGINS = 10_000;
const SESSION_COOKIE = '__Host-gateway_session';
const LOGIN_COOKIE = '__Host-gateway_login';

interface Session {
  readonly sub: string;
  readonly idToken: string;
  readonly expiresAt: number;
}
interface Login {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly next: string;
  readonly expiresAt: number;
}
// Keyed by the SHA-256 of the cookie's random value, so a lookup reveals nothing about live ids.
const sessions = new Map<string, Session>();
const logins = new Map<string, Login>();
const key = (cookie: string) => createHash('sha256').update(cookie).digest('base64url');
const random = () => randomBytes(32).toString('base64url');

/** Puts `value` under `id`; at `max` entries the expired ones go first, then the oldest. */
function keep<T extends { expiresAt: number }>(map: Map<string, T>, id: string, value: T, max: number): void {
  if (map.size >= max) {
    const now = Date.now();
    for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  }
  while (map.size >= max) map.delete(map.keys().next().value!);
  map.set(id, value);
}

/** The live entry of `map` named by the cookie `name` in the request, if any. */
function find<T extends { expiresAt: number }>(map: Map<string, T>, req: IncomingMessage, name: string): [string, T] | undefined {
  const raw = cookie(req, name);
  if (!raw || raw.length > 100) return undefined;
  const id = key(raw);
  const v = map.get(id);
  if (!v) return undefined;
  if (v.expiresAt > Date.now()) return [id, v];
  map.delete(id);
  return undefined;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A `__Host-` cookie (RFC 6265bis §4.1.3.2): Secure, host-only, on `/`, never readable by script. */
const setCookie = (name: string, value: string, maxAgeSec: number) =>
  `${name}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; Secure; SameSite=Lax`;

/** Where to go after signing in: a path of the gateway (never another site), else `/`. */
function safeNext(uri: string | undefined): string {
  return uri && uri.length <= 2000 && /^\/(?![/\\])[\x21-\x7e]*$/.test(uri) && !uri.startsWith('/_gateway/') ? uri : '/';
}

let configuration: Promise<oidc.Configuration> | undefined;
/** The provider's metadata (OpenID Connect Discovery 1.0), fetched once it answers. */
function provider(): Promise<oidc.Configuration> {
  configuration ??= oidc.discovery(new URL(ISSUER), CLIENT_ID, undefined, oidc.ClientSecretBasic(CLIENT_SECRET)).catch((err) => {
    configuration = undefined;
    throw err;
  });
  return configuration;
}

const esc = (v: string) => v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** A small page: no script, no style; its forms post here and may go on to the provider. */
function page(res: ServerResponse, status: number, title: string, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; form-action 'self' ${new URL(ISSUER).origin}; frame-ancestors 'none'; base-uri 'none'`,
    ...headers,
  });
  res.end(
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>\n<body><main>\n${body}\n</main></body></html>\n`,
  );
}

/** nginx auth_request: 200 with X-User for a live session or a live gateway token, else 401. */
async function auth(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = find(sessions, req, SESSION_COOKIE);
  if (session) {
    res.writeHead(200, { 'x-user': session[1].sub, 'cache-control': 'no-store' }).end();
    return;
  }
  const authorization = req.headers.authorization ?? '';
  if (/^Bearer [\x21-\x7e]{1,4096}$/.test(authorization)) {
    const check = await fetch(`${ISSUER}/gateway-auth`, { headers: { authorization }, signal: AbortSignal.timeout(5000) });
    const user = check.headers.get('x-user');
    if (check.status === 200 && user) {
      res.writeHead(200, { 'x-user': user, 'cache-control': 'no-store' }).end();
      return;
    }
  }
  res.writeHead(401).end();
}

/**
 * What an unauthenticated request gets (nginx error_page 401): a browser asking for a page (GET or
 * HEAD, Accept text/html, no Authorization) is redirected to the provider; anything else gets 401
 * with a Bearer challenge (RFC 6750 §3).
 */
async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = String(req.headers['x-original-method'] ?? '');
  const browser = (method === 'GET' || method === 'HEAD') && /text\/html/.test(req.headers.accept ?? '') && !req.headers.authorization;
  if (!browser) {
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="gateway"', 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end('Sign in at the gateway first.\n');
    return;
  }
  const config = await provider();
  const id = random();
  const login: Login = {
    state: random(),
    nonce: random(),
    verifier: oidc.randomPKCECodeVerifier(),
    next: safeNext(String(req.headers['x-original-uri'] ?? '')),
    expiresAt: Date.now() + LOGIN_MS,
  };
  keep(logins, key(id), login, MAX_LOGINS);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${PUBLIC}/_gateway/callback`,
    scope: 'openid email',
    state: login.state,
    nonce: login.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier),
    code_challenge_method: 'S256',
  });
  res.writeHead(302, { location: url.href, 'set-cookie': setCookie(LOGIN_COOKIE, id, LOGIN_MS / 1000), 'cache-control': 'no-store' });
  res.end();
}

/** The redirect back from the provider: checks the login, redeems the code, starts the session. */
async function callback(req: IncomingMessage, res: ServerResponse, query: string): Promise<void> {
  const found = find(logins, req, LOGIN_COOKIE);
  if (found) logins.delete(found[0]);
  const clearLogin = setCookie(LOGIN_COOKIE, '', 0);
  const fail = (why: string) =>
    page(res, 400, 'Sign-in failed', `<h1>Sign-in failed</h1>\n<p>${esc(why)}</p>\n<p><a href="/">Try again</a></p>`, {
      'set-cookie': clearLogin,
    });
  if (!found) return fail('This sign-in has expired or was started in another browser.');
  const login = found[1];
  let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    tokens = await oidc.authorizationCodeGrant(await provider(), new URL(`${PUBLIC}/_gateway/callback?${query}`), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
  } catch (err) {
    const error = (err as { error?: string }).error;
    return fail(error === 'access_denied' ? 'Sign-in was cancelled.' : 'The sign-in service did not confirm this sign-in.');
  }
  const sub = tokens.claims()?.sub;
  if (!sub || !tokens.id_token) return fail('The sign-in service named no user.');
  const id = random();
  keep(sessions, key(id), { sub, idToken: tokens.id_token, expiresAt: Date.now() + SESSION_MS }, MAX_SESSIONS);
  res.writeHead(303, {
    location: login.next,
    'set-cookie': [clearLogin, setCookie(SESSION_COOKIE, id, Math.floor(SESSION_MS / 1000))],
    'cache-control': 'no-store',
  });
  res.end();
}

/** GET: a page with a sign-out button. POST (same origin only): ends the session here and at the provider. */
async function signOut(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = find(sessions, req, SESSION_COOKIE);
  if (req.method !== 'POST') {
    const who = session ? `<p>Signed in as ${esc(session[1].sub)}.</p>\n` : '';
    return page(
      res,
      200,
      'Sign out',
      `<h1>Sign out</h1>\n${who}<form method="post" action="/_gateway/sign-out"><button type="submit">Sign out</button></form>`,
    );
  }
  // A form of another site cannot end the session (RFC 6454 §7: the Origin of the POST).
  if (req.headers.origin !== PUBLIC) return page(res, 403, 'Sign out', '<h1>Sign-out refused</h1>\n<p>Use the sign-out button.</p>');
  const clear = setCookie(SESSION_COOKIE, '', 0);
  if (!session) return page(res, 200, 'Signed out', '<h1>You are signed out</h1>', { 'set-cookie': clear });
  sessions.delete(session[0]);
  const end = oidc.buildEndSessionUrl(await provider(), {
    id_token_hint: session[1].idToken,
    post_logout_redirect_uri: `${PUBLIC}/_gateway/signed-out`,
  });
  res.writeHead(303, { location: end.href, 'set-cookie': clear, 'cache-control': 'no-store' });
  res.end();
}

const server = http.createServer((req, res) => {
  // The raw path, compared exactly: no URL normalisation here can turn a public path into /internal/.
  const [path = '', query = ''] = (req.url ?? '').split('?', 2);
  const route = async () => {
    switch (path) {
      case '/internal/auth':
        return auth(req, res);
      case '/internal/sign-in':
        return signIn(req, res);
      case '/_gateway/callback':
        return callback(req, res, query);
      case '/_gateway/sign-out':
        return signOut(req, res);
      case '/_gateway/signed-out':
        return page(res, 200, 'Signed out', '<h1>You are signed out</h1>\n<p><a href="/">Sign in again</a></p>');
      default:
        res.writeHead(404).end();
    }
  };
  route().catch(() => {
    // The provider is down or slow: a temporary failure, never a way in.
    if (!res.headersSent) res.writeHead(503, { 'retry-after': '5' }).end();
  });
});
server.listen(Number(a.port), a.bind, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
