// The admin console's sign-in page in headless Chromium: trusted issuers (embedded and
// configured) and the embedded provider's OAuth clients; removing a client ends it at the
// provider; the account page's own client cannot be removed; a non-admin gets 403.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { axeProblems, signInPage } from './account-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const EXTERNAL = 'https://sso.example.invalid/realms/mail';

describe('admin console: issuers and clients', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    server = await startTestServer({ overrides: { auth: { issuers: [{ issuer: EXTERNAL, domains: ['example.test'] }] } } });
    await server.services.accounts.addUser({ address: 'lena@example.test', password: 'lena account password' });
    await server.services.idp.clients.add({ clientId: 'team-app', name: 'Team app', redirectUris: ['https://team.example.test/cb'] });
    browser = await launchChromium(server.dataDir);
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
  });

  it('lists issuers and clients and removes a client', async () => {
    const { context, page, errors } = await signInPage(browser, server.baseUrl, server.admin.address, server.admin.password);
    contexts.push(context);
    await page.goto(`${server.baseUrl}/admin/identity`);
    const main = (await page.textContent('main')) ?? '';
    assert.ok(main.includes(server.services.idp.issuer), 'the embedded issuer');
    assert.ok(main.includes(EXTERNAL), 'the configured issuer');
    assert.match(main, /team-app[\s\S]*Team app/);
    assert.equal(await page.locator('button[aria-label="Remove client fingerpost-account"]').count(), 0);
    assert.deepEqual(await axeProblems(page), []);
    const csrf = (await page.getAttribute('input[name=csrf]', 'value')) ?? '';
    const own = await context.request.post(`${server.baseUrl}/admin/identity/clients/fingerpost-account/remove`, {
      form: { csrf },
      maxRedirects: 0,
    });
    assert.equal(own.status(), 409);
    await Promise.all([page.waitForURL(/done=removed/), page.click('button[aria-label="Remove client team-app"]')]);
    assert.equal(
      (await server.services.idp.clients.list()).some((c) => c.clientId === 'team-app'),
      false,
    );
    assert.deepEqual(errors, []);
  });

  it('answers 403 to a non-admin', async () => {
    const { context } = await signInPage(browser, server.baseUrl, 'lena@example.test', 'lena account password');
    contexts.push(context);
    assert.equal((await context.request.get(`${server.baseUrl}/admin/identity`, { maxRedirects: 0 })).status(), 403);
    assert.equal(
      (
        await context.request.post(`${server.baseUrl}/admin/identity/clients/fingerpost-account/remove`, {
          form: { csrf: 'x' },
          maxRedirects: 0,
        })
      ).status(),
      403,
    );
  });
});
