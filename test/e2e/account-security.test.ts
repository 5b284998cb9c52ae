// Second factors at the embedded provider, end to end in headless Chromium (Debian `chromium`,
// playwright-core): an authenticator app set up from the Security page (codes computed by Python's
// hmac, independent of the server's RFC 6238 code), recovery codes shown once and good once,
// passkeys created and used through Chromium's virtual WebAuthn authenticator (DevTools
// protocol) as second step and for passwordless sign-in, throttled wrong codes, CSP and CSRF, and
// the new-device notice in the INBOX. Screenshots as in web-account.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { commandSkip } from '../helpers/peers.ts';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.ts';
import { axeProblems, until } from './account-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium') || commandSkip('python3', 'python3');
const SHOTS =
  process.env.FINGERPOST_SCREENSHOTS === '1'
    ? path.join(ROOT, 'docs', 'images')
    : await mkdtemp(path.join(os.tmpdir(), 'fingerpost-shots-'));
const USER = 'gina@example.test';
const PASSWORD = 'gina account password';
const OTHER = 'hugo@example.test';
const OTHER_PASSWORD = 'hugo account password';
const NOTICE = 'New sign-in to your account';

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) by Python's standard library, for a base32 key at a time (s). */
const PY_TOTP = `
import base64, hashlib, hmac, struct, sys
k = sys.argv[1].replace(' ', '').upper()
key = base64.b32decode(k + '=' * (-len(k) % 8))
h = hmac.new(key, struct.pack('>Q', int(sys.argv[2]) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print('%06d' % ((struct.unpack('>I', h[o:o + 4])[0] & 0x7fffffff) % 1000000))
`;
const pyTotp = (key: string, atSec: number) => execFileSync('python3', ['-c', PY_TOTP, key, String(atSec)], { encoding: 'utf8' }).trim();

describe('second factors and passkeys in headless Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let totpKey = '';
  let recovery: string[] = [];
  /** The passkey most recently used (copied into each new browser, so its signature counter only grows). */
  let latest: { cdp: CDPSession; id: string } | undefined;

  before(async () => {
    server = await startTestServer();
    await server.services.accounts.addUser({ address: USER, password: PASSWORD, displayName: 'Gina' });
    await server.services.accounts.addUser({ address: OTHER, password: OTHER_PASSWORD });
    browser = await launchChromium(server.dataDir);
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
  });

  /** New-device notices in an account's INBOX. */
  async function notices(address: string): Promise<number> {
    const account = await server.services.directory.findByAddress(address);
    const rows = await server.services.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('account_id', '=', account!.id)
      .where('subject', '=', NOTICE)
      .execute();
    return rows.length;
  }

  /** A fresh browser (a new device) at the sign-in page of the account page, with console errors collected. */
  async function fresh(withAuthenticator = false): Promise<{ page: Page; errors: string[]; cdp?: CDPSession; authenticator?: string }> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
    });
    let cdp: CDPSession | undefined;
    let authenticator: string | undefined;
    if (withAuthenticator) {
      cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      ({ authenticatorId: authenticator } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      }));
      if (latest) {
        const { credentials } = await latest.cdp.send('WebAuthn.getCredentials', { authenticatorId: latest.id });
        for (const credential of credentials) await cdp.send('WebAuthn.addCredential', { authenticatorId: authenticator, credential });
      }
    }
    await page.goto(`${server.baseUrl}/account`);
    await page.waitForSelector('input[name=email]');
    return { page, errors, ...(cdp && authenticator ? { cdp, authenticator } : {}) };
  }

  /** Submits the password form and waits for the next page. */
  async function password(page: Page, address: string, secret: string): Promise<void> {
    await page.fill('input[name=email]', address);
    await page.fill('input[name=password]', secret);
    await Promise.all([page.waitForLoadState('load'), page.click('form:has(input[name=password]) button.primary')]);
  }

  /** Allows the account page on the consent page when asked, and lands on /account. */
  async function consentToAccount(page: Page): Promise<void> {
    await page.waitForFunction(
      "location.pathname === '/account' || /Allow access\\?/.test(document.body.textContent) || !!document.querySelector('.error')",
    );
    if (/Allow access\?/.test((await page.textContent('main')) ?? ''))
      await Promise.all([page.waitForURL(`${server.baseUrl}/account`), page.click('button.primary')]);
    assert.equal(page.url(), `${server.baseUrl}/account`);
  }

  it('sets up an authenticator app, shows recovery codes once, and adds a passkey', async () => {
    const { page, errors, cdp, authenticator } = await fresh(true);
    assert.equal(await notices(USER), 0);
    await password(page, USER, PASSWORD);
    await consentToAccount(page);
    await until(async () => (await notices(USER)) === 1, 'the new-device notice');

    const res = await page.goto(`${server.baseUrl}/account/security`);
    assert.doesNotMatch(res?.headers()['content-security-policy'] ?? '', /script-src|unsafe-inline/, 'no script on the plain page');
    await page.fill('#totp-current', 'not the password');
    await page.click('form[action="/account/security/totp/start"] button');
    assert.match((await page.textContent('.error')) ?? '', /current password is wrong/);
    await page.fill('#totp-current', PASSWORD);
    await page.click('form[action="/account/security/totp/start"] button');
    totpKey = ((await page.textContent('#totp-key')) ?? '').replace(/\s/g, '');
    assert.match(totpKey, /^[A-Z2-7]{32}$/);
    assert.equal(await page.locator('.qr svg').count(), 1);
    await page.screenshot({ path: path.join(SHOTS, 'account-totp-setup.png'), fullPage: true });
    await page.fill('#code', pyTotp(totpKey, Math.floor(Date.now() / 1000)) === '000000' ? '111111' : '000000');
    await page.click('form[action="/account/security/totp/confirm"] button');
    assert.match((await page.textContent('.error')) ?? '', /does not match/);
    await page.fill('#code', pyTotp(totpKey, Math.floor(Date.now() / 1000)));
    await page.click('form[action="/account/security/totp/confirm"] button');
    assert.match((await page.textContent('main')) ?? '', /authenticator app is on/);
    recovery = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
    assert.equal(recovery.length, 10);
    await page.goto(`${server.baseUrl}/account/security`);
    assert.doesNotMatch((await page.content()) ?? '', new RegExp(recovery[0]!), 'shown once');
    assert.match((await page.textContent('main')) ?? '', /10 unused recovery code/);

    await page.fill('#pk-name', 'Test laptop');
    await page.fill('#pk-current', PASSWORD);
    const started = page.waitForResponse((r) => r.url().endsWith('/account/security/passkeys/start'));
    await page.click('form[action="/account/security/passkeys/start"] button');
    const csp = (await started).headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await Promise.all([page.waitForURL(/done=passkey-added/), page.click('button:has-text("Create the passkey")')]);
    assert.match((await page.textContent('main')) ?? '', /Test laptop/);
    await page.screenshot({ path: path.join(SHOTS, 'account-security.png'), fullPage: true });
    const { credentials } = await cdp!.send('WebAuthn.getCredentials', { authenticatorId: authenticator! });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]!.isResidentCredential, true);
    assert.equal(credentials[0]!.rpId, 'localhost');
    latest = { cdp: cdp!, id: authenticator! };
    assert.deepEqual(await axeProblems(page), []);
    // The wrong password and the wrong code are answered 400, which Chromium reports on the console.
    assert.deepEqual(
      errors.filter((e) => !/status of 400 .*\/account\/security\/totp\/(start|confirm)$/.test(e)),
      [],
    );
  });

  it('asks a new browser for the second step and takes a TOTP code, then mails a notice', async () => {
    const { page, errors } = await fresh();
    await password(page, USER, PASSWORD);
    assert.match((await page.textContent('main')) ?? '', /Confirm it is you/);
    await page.screenshot({ path: path.join(SHOTS, 'idp-second-step.png'), fullPage: true });
    assert.deepEqual(await axeProblems(page), []);
    // The next step's code: the set-up spent the current one, and one step of drift is allowed.
    await page.fill('#code', pyTotp(totpKey, Math.floor(Date.now() / 1000) + 30));
    await page.click('form:has(#code) button.primary');
    await consentToAccount(page);
    await until(async () => (await notices(USER)) === 2, 'a second notice');
    assert.deepEqual(errors, []);
  });

  it('takes a recovery code once', async () => {
    const first = await fresh();
    await password(first.page, USER, PASSWORD);
    await first.page.fill('#code', recovery[0]!.toUpperCase());
    await first.page.click('form:has(#code) button.primary');
    await consentToAccount(first.page);
    const second = await fresh();
    await password(second.page, USER, PASSWORD);
    await second.page.fill('#code', recovery[0]!);
    await second.page.click('form:has(#code) button.primary');
    assert.match((await second.page.textContent('.error')) ?? '', /wrong or was already used/);
    assert.equal((await server.services.idp.secondFactors.status(USER)).recoveryLeft, 9);
  });

  it('signs in with a passkey alone, and takes one as the second step', async () => {
    const a = await fresh(true);
    await a.page.click('button:has-text("Sign in with a passkey")');
    await consentToAccount(a.page);
    assert.match((await a.page.textContent('main')) ?? '', /Signed in as gina@example\.test/);
    latest = { cdp: a.cdp!, id: a.authenticator! };
    assert.deepEqual(a.errors, []);

    const b = await fresh(true);
    await password(b.page, USER, PASSWORD);
    await b.page.click('button:has-text("Use a passkey")');
    await consentToAccount(b.page);
    const [key] = await server.services.idp.secondFactors.passkeys(USER);
    assert.ok(key?.lastUsedAt, 'the passkey records its last use');
    assert.deepEqual(b.errors, []);
  });

  it('refuses a passkey of another account as its second step', async () => {
    await server.services.idp.secondFactors.startTotp(OTHER);
    const b = await fresh(true);
    const key = (await server.services.idp.secondFactors.pendingTotp(OTHER))!;
    assert.ok(await server.services.idp.secondFactors.confirmTotp(OTHER, pyTotp(key, Math.floor(Date.now() / 1000))));
    await password(b.page, OTHER, OTHER_PASSWORD);
    // Hugo has no passkey, so no passkey button; posting Gina's assertion to his second step fails.
    assert.equal(await b.page.locator('button:has-text("Use a passkey")').count(), 0);
  });

  it('throttles wrong codes per account, then refuses even the right one', async () => {
    const { page } = await fresh();
    await password(page, OTHER, OTHER_PASSWORD);
    const key = await server.services.db.kysely.selectFrom('idp_totp').select('account').where('account', '=', OTHER).executeTakeFirst();
    assert.ok(key);
    for (let i = 0; i < 5; i++) {
      await page.fill('#code', '999999');
      await page.click('form:has(#code) button.primary');
      assert.match((await page.textContent('.error')) ?? '', /wrong/);
    }
    await page.fill('#code', '999999');
    const limited = page.waitForResponse((r) => r.url().endsWith('/second'));
    await page.click('form:has(#code) button.primary');
    assert.equal((await limited).status(), 429);
    assert.match((await page.textContent('.error')) ?? '', /Too many wrong codes/);
  });

  it('needs the CSRF token and the current password to turn factors off', async () => {
    const { page } = await fresh();
    await password(page, USER, PASSWORD);
    await page.fill('#code', recovery[1]!);
    await page.click('form:has(#code) button.primary');
    await consentToAccount(page);
    const api = page.context().request;
    const noToken = await api.post(`${server.baseUrl}/account/security/totp/disable`, { form: { current: PASSWORD }, maxRedirects: 0 });
    assert.equal(noToken.status(), 403);
    await page.goto(`${server.baseUrl}/account/security`);
    await page.fill('form[action="/account/security/totp/disable"] input[name=current]', 'wrong');
    await page.click('form[action="/account/security/totp/disable"] button');
    assert.match((await page.textContent('.error')) ?? '', /current password is wrong/);
    assert.equal((await server.services.idp.secondFactors.status(USER)).totp, true);
    await page.fill('form[action="/account/security/totp/disable"] input[name=current]', PASSWORD);
    await Promise.all([page.waitForURL(/done=totp-off/), page.click('form[action="/account/security/totp/disable"] button')]);
    assert.equal((await server.services.idp.secondFactors.status(USER)).totp, false);
    const [pk] = await server.services.idp.secondFactors.passkeys(USER);
    await page.fill(`#pk-${pk!.id}`, PASSWORD);
    await Promise.all([
      page.waitForURL(/done=passkey-removed/),
      page.click(`form[action="/account/security/passkeys/${pk!.id}/remove"] button`),
    ]);
    assert.equal(await server.services.idp.secondFactors.required(USER), false);
  });
});
