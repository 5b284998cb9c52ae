// The reference deployment's OpenID provider: the npm `oidc-provider` package configured on its
// own (its own ES256 keys, its own HTTPS listener), not Fingerpost's embedded provider. People are
// the LDAP directory's entries: a password is checked by binding as the entry (never by reading
// hashes), and the subject of every token is the entry's `mail` — Fingerpost's [[auth.issuers]]
// maps `sub` to the account. Scripted clients get tokens with the resource owner password grant
// (RFC 6749 §4.3) and one resource indicator (RFC 8707); tokens for Fingerpost are RFC 9068 JWTs.
// The gateway's token is opaque and checked at GET /gateway-auth (nginx auth_request).
//
//   node provider.ts --issuer https://idp.example:9443 --port 9443 --cert c.pem --key k.pem \
//     --ldap-url ldaps://ldap:636 --ldap-ca ca.pem --ldap-base ou=people,dc=example,dc=org \
//     --ldap-bind-dn cn=fingerpost,... --ldap-bind-password ... --client rp:secret \
//     --resource imap://mail.example --gateway-resource https://gateway.example
//
// Prints one JSON line {"issuer","port"} once it listens.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { Client, EqualityFilter } from 'ldapts';
import Provider, { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';

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
  ],
  scopes: ['openid', 'email', MAIL_SCOPE],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, resource) => resourceServer(resource),
    },
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
  callback(req, res);
});
server.listen(Number(a.port), a.bind, () => {
  process.stdout.write(`${JSON.stringify({ issuer: need('issuer'), port: (server.address() as AddressInfo).port })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
