// Bad input at the embedded OpenID provider: each case gets the error its RFC defines, the page
// or JSON shape a client expects, and nothing else changes (tokens and sessions stay valid).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { SCOPES } from '../../src/config/resources.ts';
import { caFetch, FormBrowser, formAction, hiddenInput } from '../helpers/https-fetch.ts';
import { signInWithForms } from '../helpers/idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'bad-input test password';
const USER = 'bob@example.test';
const REDIRECT = 'http://127.0.0.1:49152/cb';
const SCOPE = `openid offline_access ${SCOPES.mail}`;

describe('embedded OpenID provider: bad input', () => {
  let server: TestServer;
  let issuer: string;
  let fetch: ReturnType<typeof caFetch>;
  let config: oidc.Configuration;

  const register = (body: Record<string, unknown>) =>
    fetch(`${issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const clientCount = async () => (await server.services.idp.clients.list()).length;

  /** A code for `config` after signing in; PKCE values as given. */
  async function authorize(params: Record<string, string>): Promise<URL> {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: SCOPE, state: 'st', ...params });
    return (await signInWithForms(server.ca, url, { email: USER, password: PASSWORD })).url;
  }

  before(async () => {
    server = await startTestServer({
      overrides: { idp: { device_code_ttl: '1s', registrations_per_ip: 4, login_attempts: 3 }, auth: { limits: { account_failures: 3 } } },
    });
    await server.services.accounts.addUser({ address: USER, password: PASSWORD });
    issuer = `${server.baseUrl}/oidc`;
    fetch = caFetch(server.ca);
    config = await oidc.dynamicClientRegistration(
      new URL(issuer),
      {
        redirect_uris: ['http://127.0.0.1/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      },
      oidc.None(),
      { [oidc.customFetch]: fetch },
    );
    config[oidc.customFetch] = fetch;
  });

  after(async () => {
    await server.close();
  });

  it('unknown client: an error page at the authorization endpoint (no redirect), invalid_client at the token endpoint', async () => {
    const res = await fetch(
      `${issuer}/auth?client_id=no-such-client&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`,
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null, 'never redirects to an unverified URI');
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await res.text(), /client is invalid|invalid_client/);

    const tok = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: 'no-such-client', redirect_uri: REDIRECT }),
    });
    assert.equal(tok.status, 401);
    assert.equal(((await tok.json()) as { error: string }).error, 'invalid_client');
  });

  it('wrong redirect URI: an error page, never a redirect to it', async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://attacker.example/cb',
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /redirect_uri did not match/);
  });

  it('PKCE: missing challenge and the plain method are refused (invalid_request); a wrong verifier gets invalid_grant', async () => {
    let res = await fetch(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: SCOPE, state: 's1' }));
    assert.equal(res.status, 303);
    let back = new URL(res.headers.get('location')!);
    assert.equal(back.origin + back.pathname, REDIRECT);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.match(back.searchParams.get('error_description') ?? '', /PKCE/);
    assert.equal(back.searchParams.get('iss'), issuer, 'RFC 9207 iss on error responses too');

    res = await fetch(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: SCOPE,
        state: 's2',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'plain',
      }),
    );
    back = new URL(res.headers.get('location')!);
    assert.equal(back.searchParams.get('error'), 'invalid_request');

    const verifier = oidc.randomPKCECodeVerifier();
    const cb = await authorize({ code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await assert.rejects(
      oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: 'st' }),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
  });

  it('replayed authorization code: invalid_grant, and the tokens of the first redemption stop working', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const cb = await authorize({ code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const first = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: 'st' });
    await assert.rejects(
      oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: 'st' }),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
    // RFC 6749 §4.1.2: a replayed code revokes what it issued.
    await assert.rejects(
      oidc.refreshTokenGrant(config, first.refresh_token!),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
  });

  it('unknown resource: invalid_target (RFC 8707 §2)', async () => {
    const res = await fetch(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: SCOPE,
        resource: 'imap://somewhere-else.example',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }),
    );
    assert.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_target');
  });

  it('expired device code: expired_token (RFC 8628 §3.5)', async () => {
    const da = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
    assert.equal(da.expires_in, 1);
    // The code's lifetime is 1 s in this server's config; wait it out.
    await new Promise((r) => setTimeout(r, 2100));
    await assert.rejects(
      oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', { device_code: da.device_code }),
      (err: oidc.ResponseBodyError) => err.error === 'expired_token',
    );
    await assert.rejects(
      oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', { device_code: 'made-up' }),
      (err: oidc.ResponseBodyError) => err.error === 'invalid_grant',
    );
  });

  it('a device code posted without a live provider session goes back to the form (303), never a server error', async () => {
    const browser = new FormBrowser(server.ca);
    const res = await browser.request(`${issuer}/device`, { form: { xsrf: 'forged', user_code: 'BCDF-GHJK' } });
    assert.equal(res.status, 303);
    const { res: form, url } = await browser.follow(`${issuer}/device`, undefined, res);
    assert.equal(url.pathname, '/oidc/device');
    assert.equal(form.status, 200);
    const page = await form.text();
    assert.ok(hiddenInput(page, 'xsrf'), 'a fresh form with its own token');
    // With the session the form created, a wrong code now gets the form's own error, still no 500.
    const again = await browser.request(new URL(formAction(page, 'op.deviceInputForm')!, url), {
      form: { xsrf: hiddenInput(page, 'xsrf')!, user_code: 'BCDF-GHJK' },
    });
    assert.equal(again.status, 200, 'oidc-provider re-renders the form');
    assert.match(await again.text(), /That code is not valid/);
  });

  it('malformed registration metadata: invalid_redirect_uri / invalid_client_metadata (RFC 7591 §3.2.2), nothing stored', async () => {
    const before = await clientCount();
    let res = await register({ redirect_uris: ['http://mail.example.com/cb'] });
    assert.equal(res.status, 400);
    assert.equal(
      ((await res.json()) as { error: string }).error,
      'invalid_redirect_uri',
      'native http redirects must be loopback (RFC 8252 §8.3)',
    );
    res = await register({ redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['client_credentials'] });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client_metadata');
    assert.equal(await clientCount(), before);
  });

  it('too many registrations from one address: 429 with Retry-After, and no client is created', async () => {
    // before() registered once and the previous test twice; the limit is 4 per window.
    assert.equal((await register({ redirect_uris: ['http://127.0.0.1/cb'] })).status, 201);
    const before = await clientCount();
    const res = await register({ redirect_uris: ['http://127.0.0.1/cb'] });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
    assert.equal(await clientCount(), before);
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.match(metrics, /fingerpost_idp_rate_limited_total\{endpoint="reg"\} 1/, 'counted in /metrics');
  });

  it('sign-in page: missing CSRF token is refused (403), wrong passwords get one answer, then 429 for that address', async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    // From an address that never signed in (127.0.0.1 did, in the tests above, and stays known).
    const browser = new FormBrowser(server.ca, { localAddress: '127.0.0.77' });
    const { res, url: page } = await browser.follow(url);
    const html = await res.text();
    const action = new URL(formAction(html, '/login')!, page);
    const csrf = hiddenInput(html, 'csrf')!;

    const noCsrf = await browser.request(action, { form: { email: USER, password: PASSWORD } });
    assert.equal(noCsrf.status, 403);

    const wrong = await browser.request(action, { form: { csrf, email: USER, password: 'nope' } });
    const unknown = await browser.request(action, { form: { csrf, email: 'nobody@example.test', password: 'nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const a = await wrong.text();
    const b = await unknown.text();
    assert.match(a, /Wrong email address or password/);
    assert.match(b, /Wrong email address or password/);
    assert.doesNotMatch(a + b, /nope/, 'the password is never echoed');

    await browser.request(action, { form: { csrf, email: USER, password: 'nope2' } });
    await browser.request(action, { form: { csrf, email: USER, password: 'nope3' } });
    const limited = await browser.request(action, { form: { csrf, email: USER, password: PASSWORD } });
    assert.equal(limited.status, 429, 'even the right password waits once this address reached the limit for this account');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    browser.localAddress = '127.0.0.78';
    const elsewhere = await browser.request(action, { form: { csrf, email: USER, password: PASSWORD } });
    assert.equal(elsewhere.status, 303, 'another address is not refused');
  });

  it('garbage at the token endpoint is invalid_request / unsupported_grant_type, and the server keeps serving', async () => {
    let res = await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    res = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        username: USER,
        password: PASSWORD,
        client_id: config.clientMetadata().client_id,
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'unsupported_grant_type');
    res = await fetch(`${issuer}/no-such-endpoint`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(((await res.json()) as { status: number }).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
  });
});
