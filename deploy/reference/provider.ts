// The reference deployment's OpenID provider: the npm `oidc-provider` package configured on its
// own (its own ES256 keys, its own HTTPS listener), not Fingerpost's embedded provider. People are
// the LDAP directory's entries: a password is checked by binding as the entry (never by reading
// hashes), and the subject of every token is the entry's `mail` — Fingerpost's [[auth.issuers]]
// maps `sub` to the account. Scripted clients get tokens with the resource owner password grant
// (RFC 6749 §4.3) and one resource indicator (RFC 8707); tokens for Fingerpost are RFC 9068 JWTs.
// The gateway's token is opaque and checked at GET /gateway-auth (nginx auth_request).
// Browsers sign in at the gateway (deploy/reference/gateway.ts) with the authorization code flow
// and PKCE (RFC 6749 §4.1, RFC 7636): this provider's login page binds against LDAP, the gateway,
// a first-party client, gets `openid email` without a consent page, and RP-initiated logout
// (OpenID Connect RP-Initiated Logout 1.0) ends the provider's session.
//
//   node provider.ts --issuer https://idp.example:9443 --port 9443 --cert c.pem --key k.pem \
//     --ldap-url ldaps://ldap:636 --ldap-ca ca.pem --ldap-base ou=people,dc=example,dc=org \
//     --ldap-bind-dn cn=fingerpost,... --ldap-bind-password ... --client rp:secret \
//     --resource imap://mail.example --gateway-resource https://gateway.example \
//     --gateway-url https://gateway.example:8443 --gateway-client gw:secret
//
// Prints one JSON line {"issuer","port"} once it listens.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { Client, EqualityFilter } from 'ldapts';
import Provider, { type ClientMetadata, errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';

const { values: a } = parseArgs({
  options: {
    issuer: { type: 'string' },
    port: { type: 'string', default: '0' },
    bind: { type: 'string', default: '0.0.0.0' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'ldap-url': { type: 'string' },
    'ldap-ca': { type: 'string' },
    'ldap-base': { type: 'string' },
    'ldap-bind-dn': { type: 'string' },
    'ldap-bind-password': { type: 'string', default: process.env.LDAP_BIND_PASSWORD ?? '' },
    client: { type: 'string', default: process.env.PROVIDER_CLIENT ?? 'fingerpost-rp:rp-secret' },
    resource: { type: 'string', multiple: true, default: [] },
    'gateway-resource': { type: 'string', default: '' },
    'gateway-url': { type: 'string', default: '' },
    'gateway-client': { type: 'string', default: process.env.GATEWAY_CLIENT ?? '' },
  },
});
const need = (k: keyof typeof a): string => {
  const v = a[k];
  if (typeof v !== 'string' || !v) throw new Error(`--${k} is required`);
  return v;
};

const MAIL_SCOPE = 'urn:ietf:params:oauth:scope:mail';
const ldapCa = a['ldap-ca'] ? readFileSync(a['ldap-ca']) : undefined;
const ldap = () => new Client({ url: need('ldap-url'), timeout: 5000, connectTimeout: 5000, tlsOptions: ldapCa ? { ca: ldapCa } : {} });

/** The entry's `mail` when `username` (mail or uid) binds with `password`; undefined otherwise. */
async function ldapSignIn(username: string, password: string): Promise<string | undefined> {
  if (!username || !password) return undefined;
  const service = ldap();
  let dn: string | undefined;
  let mail: string | undefined;
  try {
    await service.bind(need('ldap-bind-dn'), a['ldap-bind-password']!);
    const filter = username.includes('@')
      ? new EqualityFilter({ attribute: 'mail', value: username })
      : new EqualityFilter({ attribute: 'uid', value: username });
    const { searchEntries } = await service.search(need('ldap-base'), { scope: 'sub', filter, attributes: ['mail'], sizeLimit: 2 });
    if (searchEntries.length !== 1) return undefined;
    dn = searchEntries[0]!.dn;
    mail = String(searchEntries[0]!.mail ?? '').toLowerCase() || undefined;
  } finally {
    await service.unbind().catch(() => {});
  }
  if (!dn || !mail) return undefined;
  const user = ldap();
  try {
    await user.bind(dn, password);
    return mail;
  } catch {
    return undefined;
  } finally {
    await user.unbind().catch(() => {});
  }
}

/** HTML text of a value (the five characters HTML gives meaning to). */
const esc = (v: string) => v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** The pages' policy: no script, no style, forms post here or go on to the gateway's callback. */
const pageCsp = () =>
  `default-src 'none'; form-action 'self'${a['gateway-url'] ? ` ${new URL(a['gateway-url']).origin}` : ''}; frame-ancestors 'none'; base-uri 'none'`;
const pageHtml = (title: string, body: string) =>
  `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>\n<body><main>\n${body}\n</main></body></html>\n`;

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: randomUUID() };
const [clientId, clientSecret] = need('client').split(':') as [string, string];
const resources = new Set(a.resource);
const gatewayResource = a['gateway-resource'];

/** What a token for `resource` is: an RFC 9068 JWT for Fingerpost, opaque for the gateway. */
function resourceServer(resource: string): ResourceServer {
  if (resource === gatewayResource) return { scope: MAIL_SCOPE, accessTokenFormat: 'opaque', accessTokenTTL: 600 };
  if (!resources.has(resource)) throw new errors.InvalidTarget(`${resource} is not a resource this provider issues for`);
  return { scope: MAIL_SCOPE, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } };
}

const gatewayUrl = a['gateway-url'] ? new URL(a['gateway-url']).origin : '';
const [gatewayClientId, gatewayClientSecret] = (a['gateway-client'] ?? '').split(':') as [string, string | undefined];
/** The gateway as a web client: authorization code with PKCE, its callback and its signed-out page. */
const gatewayClient: ClientMetadata | undefined =
  gatewayUrl && gatewayClientId && gatewayClientSecret
    ? {
        client_id: gatewayClientId,
        client_secret: gatewayClientSecret,
        client_name: 'the gateway',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${gatewayUrl}/_gateway/callback`],
        post_logout_redirect_uris: [`${gatewayUrl}/_gateway/signed-out`],
        scope: 'openid email',
        id_token_signed_response_alg: 'ES256',
      }
    : undefined;

const provider = new Provider(need('issuer'), {
  jwks: { keys: [jwk] },
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['password', 'client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: `openid email ${MAIL_SCOPE}`,
      id_token_signed_response_alg: 'ES256',
    },
    ...(gatewayClient ? [gatewayClient] : []),
  ],
  scopes: ['openid', 'email', MAIL_SCOPE],
  claims: { openid: ['sub'], email: ['email'] },
  // The subject is the LDAP entry's mail (ldapSignIn), so the claims need no second lookup.
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: sub }) }),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // RFC 7636: every authorization request carries an S256 code challenge, confidential clients too.
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.set('content-security-policy', pageCsp());
        ctx.body = pageHtml(
          'Sign out',
          `<h1>Sign out of ${esc(ctx.host)}?</h1>\n${form}\n<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button></p>`,
        );
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.set('content-security-policy', pageCsp());
        ctx.body = pageHtml('Signed out', '<h1>You are signed out</h1>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, resource) => resourceServer(resource),
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.set('content-security-policy', pageCsp());
    ctx.body = pageHtml('Sign-in error', `<h1>Sign-in error</h1>\n<p>${esc(String(out.error_description ?? out.error))}</p>`);
  },
});

// RFC 6749 §4.3: username and password checked by an LDAP bind; one resource (RFC 8707 §2).
provider.registerGrantType(
  'password',
  async (ctx: KoaContextWithOIDC) => {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client!;
    const mail = await ldapSignIn(params.username ?? '', params.password ?? '');
    if (!mail) throw new errors.InvalidGrant('wrong user name or password');
    const resource = params.resource;
    if (!resource) throw new errors.InvalidTarget('one resource is required');
    const data = resourceServer(resource);
    const grant = new provider.Grant({ accountId: mail, clientId: client.clientId });
    grant.addResourceScope(resource, MAIL_SCOPE);
    const grantId = await grant.save();
    const token = new provider.AccessToken({ accountId: mail, client, grantId, scope: MAIL_SCOPE, gty: 'password' });
    token.resourceServer = new provider.ResourceServer(resource, data);
    const value = await token.save();
    ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: MAIL_SCOPE };
  },
  ['username', 'password', 'scope', 'resource'],
);

const MAX_FORM = 8192;

/** An application/x-www-form-urlencoded body of at most MAX_FORM octets; undefined when larger. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The login page: the LDAP user name (mail or uid) and password, posted back to this interaction. */
function loginPage(uid: string, client: string, error = '', username = ''): string {
  return pageHtml(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to ${esc(client)}</p>
${error ? `<p role="alert">${esc(error)}</p>\n` : ''}<form method="post" action="/interaction/${esc(uid)}/login">
<p><label for="username">User name or mail address</label><br><input id="username" name="username" autocomplete="username" required value="${esc(username)}"></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/**
 * The sign-in steps of the authorization endpoint (OpenID Connect Core 1.0 §3.1.2.3): GET shows the
 * login page, POST …/login checks the password by an LDAP bind; the consent step is granted without
 * a page for the gateway, the organisation's own client, and refused for any other.
 */
async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, login: boolean): Promise<void> {
  const send = (status: number, body: string) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pageCsp(),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  const details = await provider.interactionDetails(req, res).catch(() => undefined);
  if (!details || details.uid !== uid) {
    send(400, pageHtml('Sign-in expired', '<h1>This sign-in has expired</h1>\n<p>Go back to the page you wanted and try again.</p>'));
    return;
  }
  const clientId = String(details.params.client_id ?? '');
  const clientName = clientId === gatewayClientId ? 'the gateway' : clientId;
  if (details.prompt.name === 'consent') {
    const accountId = details.session?.accountId;
    if (clientId !== gatewayClientId || !accountId) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'only the gateway signs in here' });
      return;
    }
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    grant.addOIDCScope('openid email');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (!login && (req.method === 'GET' || req.method === 'HEAD')) return send(200, loginPage(uid, clientName));
  if (!login || req.method !== 'POST') return send(405, pageHtml('Sign in', '<h1>Method not allowed</h1>'));
  const form = await readForm(req);
  const username = (form?.get('username') ?? '').trim().slice(0, 256);
  const password = (form?.get('password') ?? '').slice(0, 1024);
  let mail: string | undefined;
  try {
    mail = await ldapSignIn(username, password);
  } catch {
    return send(503, loginPage(uid, clientName, 'The directory cannot be reached. Try again in a moment.', username));
  }
  if (!mail) return send(401, loginPage(uid, clientName, 'Wrong user name or password.', username));
  await provider.interactionFinished(req, res, { login: { accountId: mail } }, { mergeWithLastSubmission: false });
}

// The gateway's check (nginx auth_request): 200 with X-User for a live opaque gateway token, else 401.
const callback = provider.callback();
const server = https.createServer({ cert: readFileSync(need('cert')), key: readFileSync(need('key')) }, async (req, res) => {
  if (req.url === '/gateway-auth') {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? await provider.AccessToken.find(auth.slice(7).trim()).catch(() => undefined) : undefined;
    const ok = token && !token.isExpired && token.aud === gatewayResource;
    res.writeHead(ok ? 200 : 401, ok ? { 'x-user': token.accountId } : {});
    res.end();
    return;
  }
  const step = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/.exec(req.url?.split('?')[0] ?? '');
  if (step) {
    interaction(req, res, step[1]!, Boolean(step[2])).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
    return;
  }
  callback(req, res);
});
server.listen(Number(a.port), a.bind, () => {
  process.stdout.write(`${JSON.stringify({ issuer: need('issuer'), port: (server.address() as AddressInfo).port })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
