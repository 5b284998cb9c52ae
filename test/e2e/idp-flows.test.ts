// The embedded OpenID provider driven by a real client library (openid-client): discovery, dynamic
// registration, authorization code + PKCE with a loopback redirect, refresh-token rotation,
// revocation, introspection, the device flow, RP-initiated and back-channel logout.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { caFetch, FormBrowser, formAction, hiddenInput } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const MAIL_SCOPE = `openid email offline_access ${SCOPES.mail}`;

/** A loopback redirect target (RFC 8252 §7.3): resolves with the URL the browser was sent to. */
async function loopback(): Promise<{ port: number; next: () => Promise<URL>; close: () => void }> {
  let waiting: ((u: URL) => void) | undefined;
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
    waiting?.(new URL(req.url!, `http://127.0.0.1:${(srv.address() as AddressInfo).port}`));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    next: () => new Promise((r) => (waiting = r)),
    close: () => srv.close(),
  };
}

/** Plain-HTTP GET of the loopback redirect, as the browser would do after the provider's 303. */
function hitLoopback(url: URL): Promise<void> {
  return new Promise((resolve, reject) => http.get(url, (res) => res.resume().on('end', resolve)).on('error', reject));
}

describe('embedded OpenID provider with openid-client', () => {
  let server: TestServer;
  let issuer: string;
  let fetch: ReturnType<typeof caFetch>;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  let config: oidc.Configuration;
  let ids: ReturnType<typeof resourceIds>;
  const user = 'alice@example.test';

  /** Walks sign-in and consent pages for an authorization URL; returns the loopback callback URL. */
  async function signIn(authUrl: URL, callback: Promise<URL>, options: { password?: string; consent?: boolean } = {}): Promise<URL> {
    const browser = new FormBrowser(server.ca);
    const isLoopback = (u: URL) => u.hostname === '127.0.0.1';
    let { res, url } = await browser.follow(authUrl, isLoopback);
    for (let step = 0; step < 4 && !isLoopback(url); step++) {
      const page = await res.text();
      assert.equal(res.status, 200, `page ${url} answered ${res.status}: ${page.slice(0, 300)}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      const csrf = hiddenInput(page, 'csrf');
      assert.ok(csrf, 'every form carries a CSRF token');
      let action = formAction(page, '/login');
      let form: Record<string, string> = { csrf, email: user, password: options.password ?? PASSWORD };
      if (!action) {
        action = formAction(page, '/consent');
        assert.ok(action, `a login or consent form on ${url}: ${page.slice(0, 400)}`);
        form = { csrf };
      }
      const posted = await browser.request(new URL(action, url), { form });
      ({ res, url } = await browser.follow(url, isLoopback, posted));
    }
    assert.ok(isLoopback(url), `ended on ${url}`);
    for (const c of browser.setCookieHeaders) {
      assert.match(c, /httponly/i, c);
      assert.match(c, /secure/i, c);
      assert.match(c, /samesite=lax/i, c);
    }
    await hitLoopback(url);
    return callback;
  }

  async function codeFlow(cfg: oidc.Configuration, extra: Record<string, string> = {}, tokenParams: Record<string, string> = {}) {
    const lb = await loopback();
    try {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const redirect_uri = `http://127.0.0.1:${lb.port}/cb`;
      const authUrl = oidc.buildAuthorizationUrl(cfg, {
        redirect_uri,
        scope: MAIL_SCOPE,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        ...extra,
      });
      const callbackUrl = await signIn(authUrl, lb.next());
      assert.equal(callbackUrl.searchParams.get('iss'), issuer, 'RFC 9207 iss in the authorization response');
      return await oidc.authorizationCodeGrant(cfg, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state }, tokenParams);
    } finally {
      lb.close();
    }
  }

  before(async () => {
    server = await startTestServer();
    await server.services.accounts.addUser({ address: user, password: PASSWORD, displayName: 'Alice' });
    issuer = `${server.baseUrl}/oidc`;
    fetch = caFetch(server.ca);
    ids = resourceIds(server.config);
    jwks = createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);
    config = await oidc.dynamicClientRegistration(
      new URL(issuer),
      {
        client_name: 'Test Mail',
        redirect_uris: ['http://127.0.0.1/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        scope: MAIL_SCOPE,
        software_id: 'fingerpost-test',
        software_version: '1',
      },
      oidc.None(),
      { [oidc.customFetch]: fetch },
    );
    config[oidc.customFetch] = fetch;
  });

  after(async () => {
    await server.close();
  });

  it('publishes OIDC discovery and RFC 8414 metadata with the same issuer', async () => {
    const m = config.serverMetadata();
    assert.equal(m.issuer, issuer);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.ok(m.device_authorization_endpoint && m.registration_endpoint && m.revocation_endpoint && m.introspection_endpoint);
    assert.ok(m.scopes_supported?.includes(SCOPES.mail) && m.scopes_supported.includes(SCOPES.calendars));
    assert.deepEqual(m.response_types_supported, ['code']);
    const rfc8414 = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server/oidc`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(rfc8414.issuer, issuer);
    assert.deepEqual(rfc8414.protected_resources, [ids.imap, ids.pop3, ids.smtp, ids.jmap, ids.calendar]);
    // openid-client's own discovery accepts it too (it checks issuer equality).
    const again = await oidc.discovery(new URL(issuer), config.clientMetadata().client_id, undefined, oidc.None(), {
      [oidc.customFetch]: fetch,
    });
    assert.equal(again.serverMetadata().token_endpoint, m.token_endpoint);
  });

  it('registered a native public client (RFC 7591) and refuses confidential self-registration', async () => {
    const c = config.clientMetadata();
    assert.ok(c.client_id);
    assert.equal(c.client_secret, undefined);
    assert.equal(c.token_endpoint_auth_method, 'none');
    assert.equal(c.application_type, 'native');
    const res = await fetch(config.serverMetadata().registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://evil.example/cb'], token_endpoint_auth_method: 'client_secret_basic' }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client_metadata');
  });

  it('runs the code flow with PKCE and a loopback redirect on any port; the JWT access token covers every mail service', async () => {
    const tokens = await codeFlow(config);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer, typ: 'at+jwt' });
    assert.equal(payload.sub, user);
    assert.equal(payload.email, user);
    assert.equal(payload.client_id, config.clientMetadata().client_id);
    assert.ok(payload.jti && payload.iat && payload.exp);
    assert.equal(payload.exp! - payload.iat!, 3600);
    assert.deepEqual(payload.aud, [ids.imap, ids.pop3, ids.smtp, ids.jmap]);
    assert.match(String(payload.scope), new RegExp(SCOPES.mail.replaceAll('.', '\\.')));
    const idClaims = tokens.claims()!;
    assert.equal(idClaims.sub, user);
    assert.equal(idClaims.email, user);
    // From nothing to an IMAP login: the token just obtained signs imapflow in (OAUTHBEARER/XOAUTH2).
    const imap = new ImapFlow({
      host: 'localhost',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: server.ca },
      auth: { user, accessToken: tokens.access_token },
      logger: false,
    });
    await imap.connect();
    const status = await imap.status('INBOX', { messages: true });
    assert.equal(status && typeof status.messages, 'number');
    await imap.logout();
  });

  it('audience-restricts a token to one RFC 8707 resource when asked, at the token endpoint too', async () => {
    const single = await codeFlow(config, { resource: ids.imap });
    assert.equal(decodeJwt(single.access_token).aud, ids.imap);
    const down = await codeFlow(config, {}, { resource: ids.jmap });
    assert.equal(decodeJwt(down.access_token).aud, ids.jmap);
    const refreshed = await oidc.refreshTokenGrant(config, down.refresh_token!, { resource: ids.smtp });
    assert.equal(decodeJwt(refreshed.access_token).aud, ids.smtp);
  });

  it('rotates refresh tokens; reusing a rotated one fails and ends the grant', async () => {
    const first = await codeFlow(config);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    // When the sign-in ends (the refresh token's 30 days by default), for fingerpost token --keepalive.
    for (const t of [first, second]) {
      const left = t.refresh_expires_in as number;
      assert.ok(left > 30 * 86_400 - 120 && left <= 30 * 86_400, `refresh_expires_in ${left}`);
    }
    assert.notEqual(decodeJwt(second.access_token).jti, decodeJwt(first.access_token).jti);
    await assert.rejects(
      oidc.refreshTokenGrant(config, first.refresh_token!),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
    // RFC 9700 §4.14.2: the reuse revoked the grant, so the newest refresh token is dead as well.
    await assert.rejects(
      oidc.refreshTokenGrant(config, second.refresh_token!),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
    const intro = await oidc.tokenIntrospection(config, second.access_token);
    assert.equal(intro.active, false, 'access tokens of the revoked grant are inactive');
  });

  it('introspects its own JWT access token and revokes refresh and access tokens (RFC 7662, RFC 7009)', async () => {
    const t = await codeFlow(config);
    const active = await oidc.tokenIntrospection(config, t.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, user);
    assert.equal(active.client_id, config.clientMetadata().client_id);
    assert.deepEqual(active.aud, [ids.imap, ids.pop3, ids.smtp, ids.jmap]);

    await oidc.tokenRevocation(config, t.access_token, { token_type_hint: 'access_token' });
    assert.equal((await oidc.tokenIntrospection(config, t.access_token)).active, false);
    assert.ok(await server.services.idp.tokens.isRevoked(String(decodeJwt(t.access_token).jti)));

    await oidc.tokenRevocation(config, t.refresh_token!, { token_type_hint: 'refresh_token' });
    await assert.rejects(oidc.refreshTokenGrant(config, t.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    // Revoking an unknown token is still 200 (RFC 7009 §2.2).
    await oidc.tokenRevocation(config, 'not-a-token');
  });

  it('runs the device authorization grant (RFC 8628) through the code entry, confirmation, sign-in and consent pages', async () => {
    const da = await oidc.initiateDeviceAuthorization(config, { scope: MAIL_SCOPE });
    assert.match(da.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(da.verification_uri, `${issuer}/device`);
    assert.ok(da.expires_in > 0);
    await assert.rejects(
      oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', { device_code: da.device_code }),
      (err: oidc.ResponseBodyError) => err.error === 'authorization_pending',
    );

    const browser = new FormBrowser(server.ca);
    let res = await browser.request(da.verification_uri);
    let page = await res.text();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    res = await browser.request(new URL(formAction(page, 'op.deviceInputForm')!, da.verification_uri), {
      form: { xsrf: hiddenInput(page, 'xsrf')!, user_code: da.user_code.toLowerCase().replace('-', ' ') },
    });
    page = await res.text();
    assert.match(page, new RegExp(da.user_code), 'the confirmation page shows the code to compare');
    res = await browser.request(new URL(formAction(page, 'op.deviceConfirmForm')!, da.verification_uri), {
      form: { xsrf: hiddenInput(page, 'xsrf')!, user_code: hiddenInput(page, 'user_code')!, confirm: 'yes' },
    });
    let url = new URL(da.verification_uri);
    ({ res, url } = await browser.follow(url, undefined, res));
    for (let step = 0; step < 3; step++) {
      page = await res.text();
      const login = formAction(page, '/login');
      const consent = formAction(page, '/consent');
      if (!login && !consent) break;
      const form: Record<string, string> = login
        ? { csrf: hiddenInput(page, 'csrf')!, email: user, password: PASSWORD }
        : { csrf: hiddenInput(page, 'csrf')! };
      if (consent) assert.match(page, /code matched/, 'the device consent warns about remote phishing');
      ({ res, url } = await browser.follow(url, undefined, await browser.request(new URL((login ?? consent)!, url), { form })));
    }
    assert.match(page, /Device connected/);

    const tokens = await oidc.pollDeviceAuthorizationGrant(config, da);
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer, typ: 'at+jwt' });
    assert.equal(payload.sub, user);
    assert.ok(tokens.refresh_token);
  });

  it('ends the browser session with RP-initiated logout and sends back-channel logout tokens to clients that asked', async () => {
    const received: string[] = [];
    const bcl = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => bcl.listen(0, '127.0.0.1', r));
    const lb = await loopback();
    try {
      const { info, secret } = await server.services.idp.clients.add({
        name: 'Webmail',
        redirectUris: [`http://127.0.0.1:${lb.port}/cb`],
        postLogoutRedirectUris: [`http://127.0.0.1:${lb.port}/bye`],
        backchannelLogoutUri: `http://127.0.0.1:${(bcl.address() as AddressInfo).port}/logout`,
      });
      const webmail = await oidc.discovery(new URL(issuer), info.clientId, undefined, oidc.ClientSecretBasic(secret), {
        [oidc.customFetch]: fetch,
      });
      webmail[oidc.customFetch] = fetch;
      const browser = new FormBrowser(server.ca);
      const state = oidc.randomState();
      const verifier = oidc.randomPKCECodeVerifier();
      const authUrl = oidc.buildAuthorizationUrl(webmail, {
        redirect_uri: `http://127.0.0.1:${lb.port}/cb`,
        scope: 'openid email',
        state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const isLoopback = (u: URL) => u.hostname === '127.0.0.1';
      let { res, url } = await browser.follow(authUrl, isLoopback);
      let page = await res.text();
      ({ res, url } = await browser.follow(
        url,
        isLoopback,
        await browser.request(new URL(formAction(page, '/login')!, url), {
          form: { csrf: hiddenInput(page, 'csrf')!, email: user, password: PASSWORD },
        }),
      ));
      if (!isLoopback(url)) {
        page = await res.text();
        ({ res, url } = await browser.follow(
          url,
          isLoopback,
          await browser.request(new URL(formAction(page, '/consent')!, url), { form: { csrf: hiddenInput(page, 'csrf')! } }),
        ));
      }
      assert.match(page, /<strong>Webmail<\/strong>/, 'an admin-added client is shown by name, as verified');
      const tokens = await oidc.authorizationCodeGrant(webmail, url, { expectedState: state, pkceCodeVerifier: verifier });
      const sid = tokens.claims()!.sid;
      assert.ok(sid, 'clients with back-channel logout get a sid in the ID token');

      const endUrl = oidc.buildEndSessionUrl(webmail, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `http://127.0.0.1:${lb.port}/bye`,
      });
      res = await browser.request(endUrl);
      page = await res.text();
      assert.equal(res.status, 200);
      res = await browser.request(new URL(formAction(page, 'op.logoutForm')!, endUrl), {
        form: { xsrf: hiddenInput(page, 'xsrf')!, logout: 'yes' },
      });
      assert.equal(res.status, 303);
      assert.equal(new URL(res.headers.get('location')!).pathname, '/bye');

      assert.equal(received.length, 1, 'one logout token delivered');
      const { payload, protectedHeader } = await jwtVerify(received[0]!, jwks, { issuer, audience: info.clientId });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.equal(payload.sid, sid);
      assert.ok((payload.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
      assert.equal(payload.nonce, undefined);
      // The grant of the logged-out session is gone: its access token is no longer active.
      assert.equal((await oidc.tokenIntrospection(webmail, tokens.access_token)).active, false);
    } finally {
      lb.close();
      bcl.close();
    }
  });
});
