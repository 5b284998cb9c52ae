// The embedded provider's sign-in and consent pages in a real browser: headless Chromium (Debian
// `chromium`) driven by playwright-core signs a user in for a natively registered mail client
// with PKCE and a loopback redirect; screenshots are kept under test-artifacts/.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { SCOPES } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { commandSkip } from '../helpers/peers.ts';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const USER = 'carol@example.test';
const PASSWORD = 'browser sign-in password';

describe('sign-in and consent pages in headless Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let config: oidc.Configuration;
  let issuer: string;

  before(async () => {
    server = await startTestServer();
    await server.services.accounts.addUser({ address: USER, password: PASSWORD, displayName: 'Carol' });
    issuer = `${server.baseUrl}/oidc`;
    const fetch = caFetch(server.ca);
    config = await oidc.dynamicClientRegistration(
      new URL(issuer),
      { client_name: 'Chromium Test Mail', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' },
      oidc.None(),
      { [oidc.customFetch]: fetch },
    );
    config[oidc.customFetch] = fetch;
    browser = await launchChromium(server.dataDir);
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in, shows consent, and returns a code to the loopback redirect', async () => {
    let resolveCallback!: (u: URL) => void;
    const callback = new Promise<URL>((r) => (resolveCallback = r));
    const loopback = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Signed in. You can close this window.</p>');
      resolveCallback(new URL(req.url!, `http://127.0.0.1:${(loopback.address() as AddressInfo).port}`));
    });
    await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
    const port = (loopback.address() as AddressInfo).port;
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    try {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const authUrl = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `http://127.0.0.1:${port}/callback`,
        scope: `openid email offline_access ${SCOPES.mail}`,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      await page.goto(authUrl.href);
      await page.waitForSelector('input[name=email]');
      assert.match(await page.title(), /Sign in/);
      assert.match((await page.textContent('main')) ?? '', /Chromium Test Mail/);
      await page.fill('input[name=email]', USER);
      await page.fill('input[name=password]', PASSWORD);
      await page.screenshot({ path: path.join(ARTIFACTS, 'idp-login.png'), fullPage: true });
      await Promise.all([page.waitForURL(/\/interaction\//), page.click('button.primary')]);
      await page.waitForSelector('text=Allow access?');
      const consentText = (await page.textContent('main')) ?? '';
      assert.match(consentText, /not verified by this server/, 'a self-registered client is marked unverified');
      assert.match(consentText, /Read, send and organise your mail/);
      assert.match(consentText, new RegExp(USER));
      await page.screenshot({ path: path.join(ARTIFACTS, 'idp-consent.png'), fullPage: true });
      await page.click('button.primary');
      const cb = await callback;
      await page.waitForLoadState();
      assert.equal(cb.searchParams.get('state'), state);
      const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(decodeJwt(tokens.access_token).sub, USER);
      assert.ok(tokens.refresh_token);
      const cookies = await page.context().cookies(server.baseUrl);
      for (const c of cookies) {
        assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
        assert.equal(c.secure, true, `${c.name} is Secure`);
        assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=Lax`);
      }
      assert.deepEqual(violations, [], 'the pages need nothing the CSP blocks');
    } finally {
      await page.close();
      loopback.close();
    }
  });
});
