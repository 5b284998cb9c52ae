// Signing in to the account page through a trusted external issuer: a second Fingerpost node's
// embedded provider (its own port, CA, keys and accounts) is configured in [[auth.issuers]] with
// account_sign_in; headless Chromium picks it on the sign-in page, signs in there, and lands on
// the first node's account page. An account the first node does not have is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const USER = 'iris@example.test';
const CLIENT = { id: 'account-page-of-a', secret: 'a client secret of at least some length' };

describe('account page sign-in through an external issuer', { skip }, () => {
  let issuer: TestServer;
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    issuer = await startTestServer({ domain: 'example.test' });
    await issuer.services.accounts.addUser({ address: USER, password: 'iris password at the issuer' });
    await issuer.services.accounts.addUser({ address: 'jack@example.test', password: 'jack password at the issuer' });
    server = await startTestServer({
      domain: 'example.test',
      overrides: {
        auth: {
          issuers: [
            {
              issuer: issuer.services.idp.issuer,
              ca_file: issuer.caFile,
              client_id: CLIENT.id,
              client_secret: CLIENT.secret,
              claim: 'sub',
              account_sign_in: true,
            },
          ],
        },
      },
    });
    await server.services.accounts.addUser({ address: USER, password: 'iris password here, never used' });
    await issuer.services.idp.clients.add({
      clientId: CLIENT.id,
      name: 'Account page of the other node',
      redirectUris: [`${server.baseUrl}/account/callback`],
      grantTypes: ['authorization_code'],
      scope: 'openid email',
      secret: CLIENT.secret,
    });
    browser = await launchChromium(server.dataDir);
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
    await issuer?.close();
  });

  async function viaIssuer(address: string, password: string): Promise<Page> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/account`);
    const choices = await page.locator('ul.choices a').allTextContents();
    assert.deepEqual(choices, [`Sign in with ${server.config.server.name}`, `Sign in with ${new URL(issuer.baseUrl).host}`]);
    await page.click(`text=Sign in with ${new URL(issuer.baseUrl).host}`);
    await page.waitForSelector('input[name=email]');
    assert.ok(page.url().startsWith(`${issuer.baseUrl}/oidc/interaction/`), page.url());
    await page.fill('input[name=email]', address);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForSelector('text=Allow access?'), page.click('form:has(input[name=password]) button.primary')]);
    await page.click('button.primary');
    await page.waitForLoadState('load');
    await page.waitForURL((u) => u.href.startsWith(server.baseUrl));
    return page;
  }

  it('signs in at the external issuer and opens the account page here', async () => {
    const page = await viaIssuer(USER, 'iris password at the issuer');
    assert.equal(page.url(), `${server.baseUrl}/account`);
    assert.match((await page.textContent('main')) ?? '', /Signed in as iris@example\.test/);
    const cookie = (await page.context().cookies(server.baseUrl)).find((c) => c.name === '__Host-fp_account');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
  });

  it('refuses an account of the issuer that this server does not have', async () => {
    const page = await viaIssuer('jack@example.test', 'jack password at the issuer');
    assert.match((await page.textContent('main')) ?? '', /names no enabled account/);
    const cookie = (await page.context().cookies(server.baseUrl)).find((c) => c.name === '__Host-fp_account');
    assert.equal(cookie, undefined);
  });
});
