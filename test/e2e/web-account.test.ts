// The account page and admin console in headless Chromium (Debian `chromium`, driven by
// playwright-core): sign in through the embedded provider, create an app password, sign in with
// it from Python imaplib, see "last used" and the live IMAP session, revoke it and watch the IMAP
// connection end; CSRF, CSP, cookie and admin-role checks. With FINGERPOST_SCREENSHOTS=1 the
// screenshots of the user and admin guides are written to docs/images/; otherwise to a temporary
// folder, so a test run leaves the checkout as it was.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { commandSkip } from '../helpers/peers.ts';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.ts';
import { axeProblems, until } from './account-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium') || commandSkip('python3', 'python3');
const SHOTS =
  process.env.FINGERPOST_SCREENSHOTS === '1'
    ? path.join(ROOT, 'docs', 'images')
    : await mkdtemp(path.join(os.tmpdir(), 'fingerpost-shots-'));
const USER = 'dana@example.test';
const PASSWORD = 'dana account password';
const OTHER = 'erin@example.test';

/** Python imaplib over implicit TLS: logs in, then NOOPs until the server ends the connection. */
const IMAPLIB = `
import imaplib, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL('localhost', int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[3], sys.stdin.readline().strip())
m.select('INBOX')
print('LOGGED IN', flush=True)
try:
    while True:
        m.noop()
        time.sleep(0.1)
except (imaplib.IMAP4.abort, OSError, EOFError) as e:
    print('ENDED', type(e).__name__, flush=True)
`;

describe('account page and admin console in headless Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];

  before(async () => {
    server = await startTestServer({ overrides: { auth: { events_poll: '200ms' } } });
    await server.services.accounts.addUser({ address: USER, password: PASSWORD, displayName: 'Dana' });
    await server.services.accounts.addUser({ address: OTHER, password: 'erin account password' });
    browser = await launchChromium(server.dataDir);
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    for (const c of children) c.kill();
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
  });

  /** A fresh browser signed in to the account page as `address`, with console errors collected. */
  async function signIn(address: string, password: string): Promise<{ page: Page; errors: string[] }> {
    // The API requests of the context (CSRF checks) do not get Chromium's certificate pin.
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
    });
    await page.goto(`${server.baseUrl}/account`);
    await page.waitForSelector('input[name=email]');
    assert.match((await page.textContent('main')) ?? '', /account page/);
    await page.fill('input[name=email]', address);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('button.primary')]);
    await page.waitForSelector('text=Allow access?');
    await Promise.all([page.waitForURL(`${server.baseUrl}/account`), page.click('button.primary')]);
    return { page, errors };
  }

  it('signs in, creates an app password, uses it from imaplib, revokes it and ends the IMAP session', async () => {
    const { page, errors } = await signIn(USER, PASSWORD);
    assert.match((await page.textContent('main')) ?? '', /Signed in as dana@example.test/);
    const cookie = (await page.context().cookies(server.baseUrl)).find((c) => c.name === '__Host-fp_account');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Strict');
    await page.screenshot({ path: path.join(SHOTS, 'account-overview.png'), fullPage: true });

    const res = await page.goto(`${server.baseUrl}/account/app-passwords`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /form-action 'self'/);
    await page.fill('input[name=name]', 'Laptop imaplib');
    await page.click('button.primary');
    const secret = (await page.textContent('#new-secret'))?.trim() ?? '';
    assert.ok(secret.length >= 20, 'the new secret is shown');
    await page.screenshot({ path: path.join(SHOTS, 'account-app-password-created.png'), fullPage: true });
    // Shown once: a reload lists it without the secret.
    await page.goto(`${server.baseUrl}/account/app-passwords`);
    assert.doesNotMatch((await page.content()) ?? '', new RegExp(secret.replace(/[^A-Za-z0-9]/g, '.')));
    assert.match((await page.textContent('tbody')) ?? '', /Laptop imaplib[\s\S]*Never/);

    const py = spawn('python3', ['-c', IMAPLIB, String(server.ports.imaps), server.caFile, USER]);
    children.push(py);
    py.stdin.end(`${secret}\n`);
    let out = '';
    py.stdout.on('data', (d) => (out += d));
    py.stderr.on('data', (d) => (out += d));
    await until(async () => out.includes('LOGGED IN') || py.exitCode !== null, 'imaplib login');
    assert.match(out, /LOGGED IN/, out);

    await page.goto(`${server.baseUrl}/account/app-passwords`);
    const row = (await page.textContent('tbody tr')) ?? '';
    assert.equal((row.match(/Never/g) ?? []).length, 1, `"last used" is filled in, only the expiry says Never: ${row}`);
    await until(async () => {
      await page.goto(`${server.baseUrl}/account/sessions`);
      return /IMAP/.test((await page.textContent('main')) ?? '');
    }, 'the IMAP session on the sessions page');
    assert.match((await page.textContent('main')) ?? '', /127\.0\.0\.1[\s\S]*app password/);
    await page.screenshot({ path: path.join(SHOTS, 'account-sessions.png'), fullPage: true });

    await page.goto(`${server.baseUrl}/account/app-passwords`);
    assert.match((await page.textContent('tbody')) ?? '', /from 127\.0\.0\.1 \(IMAP\)/);
    await page.screenshot({ path: path.join(SHOTS, 'account-app-passwords.png'), fullPage: true });
    await Promise.all([page.waitForURL(/done=revoked/), page.click('button[aria-label="Revoke Laptop imaplib"]')]);
    assert.match((await page.textContent('main')) ?? '', /revoked/);
    await until(async () => out.includes('ENDED'), 'the IMAP session to end');
    assert.deepEqual(errors, [], 'no console errors');
  });

  it('refuses a form without the CSRF token, and another account cannot revoke what is not theirs', async () => {
    const { page } = await signIn(OTHER, 'erin account password');
    const api = page.context().request;
    const noToken = await api.post(`${server.baseUrl}/account/app-passwords`, { form: { name: 'x', protocols: 'imap' }, maxRedirects: 0 });
    assert.equal(noToken.status(), 403);
    const badToken = await api.post(`${server.baseUrl}/account/sessions/revoke-all`, { form: { csrf: 'forged' }, maxRedirects: 0 });
    assert.equal(badToken.status(), 403);
    const { info } = await server.services.accounts.createAppPassword({
      address: USER,
      name: 'Dana phone',
      protocols: ['imap'],
      expiresAt: null,
    });
    await page.goto(`${server.baseUrl}/account/app-passwords`);
    const csrf = await page.getAttribute('input[name=csrf]', 'value');
    const other = await api.post(`${server.baseUrl}/account/app-passwords/${info.id}/revoke`, {
      form: { csrf: csrf ?? '' },
      maxRedirects: 0,
    });
    assert.equal(other.status(), 404);
    const still = await server.services.accounts.listAppPasswords(USER);
    assert.equal(still.find((p) => p.id === info.id)?.revokedAt, null, "Dana's app password is untouched");
    const admin = await api.get(`${server.baseUrl}/admin/accounts`, { maxRedirects: 0 });
    assert.equal(admin.status(), 403, 'a non-admin gets 403 on /admin');
    const adminPost = await api.post(`${server.baseUrl}/admin/accounts`, {
      form: { csrf: csrf ?? '', address: 'x@example.test' },
      maxRedirects: 0,
    });
    assert.equal(adminPost.status(), 403);
    const anonymous = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(anonymous);
    const anon = await anonymous.request.get(`${server.baseUrl}/account/app-passwords`, { maxRedirects: 0 });
    assert.equal(anon.status(), 303);
    assert.match(anon.headers().location ?? '', /^\/account\/sign-in\?next=/);
  });

  it('shows device set-up with settings, a QR code and a scoped app password', async () => {
    const { page, errors } = await signIn(OTHER, 'erin account password');
    await page.goto(`${server.baseUrl}/account/devices/apple`);
    assert.match((await page.textContent('main')) ?? '', /Incoming \(IMAP\)[\s\S]*SSL\/TLS/);
    assert.equal(await page.locator('.qr svg').count(), 1);
    await page.click('button.primary');
    assert.ok(((await page.textContent('#new-secret')) ?? '').trim().length >= 20);
    const made = (await server.services.accounts.listAppPasswords(OTHER)).find((p) => p.name.startsWith('Apple'));
    assert.deepEqual([...(made?.protocols ?? [])].sort(), ['caldav', 'carddav', 'imap', 'smtp']);
    await page.screenshot({ path: path.join(SHOTS, 'account-device-apple.png'), fullPage: true });
    const profile = await page.context().request.get(`${server.baseUrl}/account/devices/apple/profile.mobileconfig`);
    assert.equal(profile.status(), 200);
    assert.match(await profile.text(), /erin@example\.test/);
    await page.setViewportSize({ width: 320, height: 700 });
    await page.goto(`${server.baseUrl}/account/devices/android`);
    const overflow = await page.evaluate('document.documentElement.scrollWidth > window.innerWidth');
    assert.equal(overflow, false, 'readable at 320 px without sideways scrolling');
    await page.screenshot({ path: path.join(SHOTS, 'account-device-phone.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it('sets the free/busy sharing rule and saves a Sieve script', async () => {
    const { page, errors } = await signIn(OTHER, 'erin account password');
    await page.goto(`${server.baseUrl}/account/sharing`);
    await page.check('input[name=policy][value=list]');
    await page.fill('#allow', 'boss@partner.example\nfriends.example');
    await Promise.all([page.waitForURL(/done=saved/), page.click('button.primary')]);
    const erin = await server.services.directory.findByAddress(OTHER);
    const { rule, source } = await server.services.calendar.effectiveRule(erin!);
    assert.deepEqual({ ...rule, allow: [...rule.allow] }, { policy: 'list', allow: ['boss@partner.example', 'friends.example'] });
    assert.equal(source, 'account');
    await page.screenshot({ path: path.join(SHOTS, 'account-sharing.png'), fullPage: true });
    await page.goto(`${server.baseUrl}/account/filters`);
    await page.fill('#script', 'require ["fileinto"];\nif header :contains "subject" "[list]" { fileinto "Lists"; }\n');
    await Promise.all([page.waitForURL(/done=saved/), page.click('button.primary')]);
    const active = await server.services.sieveScripts.active(erin!.id);
    assert.match(active?.content ?? '', /fileinto "Lists"/);
    await page.fill('#script', 'if nonsense {');
    await page.click('button.primary');
    assert.match((await page.textContent('.error')) ?? '', /error/);
    assert.match((await server.services.sieveScripts.active(erin!.id))?.content ?? '', /fileinto "Lists"/, 'a broken script is not saved');
    // The refused script is answered 400, which Chromium reports on the console; nothing else may be.
    assert.deepEqual(
      errors.filter((e) => !/status of 400 .*\/account\/filters$/.test(e)),
      [],
    );
  });

  it('lets an admin create an account and set a quota in the console', async () => {
    const { page, errors } = await signIn(server.admin.address, server.admin.password);
    await page.goto(`${server.baseUrl}/admin`);
    assert.match((await page.textContent('main')) ?? '', /Admin console/);
    await page.goto(`${server.baseUrl}/admin/accounts`);
    await page.fill('#address', 'frank@example.test');
    await page.click('form[action="/admin/accounts"] button.primary');
    assert.ok(((await page.textContent('#new-secret')) ?? '').trim().length >= 8);
    assert.ok(await server.services.directory.findByAddress('frank@example.test'));
    await page.fill('input[aria-label="Quota of frank@example.test"]', '2G');
    await Promise.all([page.waitForURL(/done=quota/), page.click('form[action="/admin/accounts/frank%40example.test/quota"] button')]);
    assert.match((await page.textContent('main')) ?? '', /2\.0 GiB/);
    await page.screenshot({ path: path.join(SHOTS, 'admin-accounts.png'), fullPage: true });
    await page.goto(`${server.baseUrl}/admin/domains`);
    await Promise.all([page.waitForURL(/done=dkim/), page.click('form[action="/admin/domains/example.test/dkim"] button')]);
    assert.match((await page.textContent('main')) ?? '', /signing with selector/);
    await page.screenshot({ path: path.join(SHOTS, 'admin-domains.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it('has no serious accessibility violations (axe-core) on any page, desktop and 320 px', async () => {
    const { page, errors } = await signIn(server.admin.address, server.admin.password);
    const pages = [
      '/account',
      '/account/app-passwords',
      '/account/sessions',
      '/account/devices',
      '/account/devices/apple',
      '/account/devices/terminal',
      '/account/security',
      '/account/filters',
      '/account/sharing',
      '/admin',
      '/admin/domains',
      '/admin/accounts',
      '/admin/sessions',
      '/admin/queue',
    ];
    const problems: string[] = [];
    for (const width of [1100, 320]) {
      await page.setViewportSize({ width, height: 800 });
      for (const p of pages) {
        const res = await page.goto(`${server.baseUrl}${p}`);
        assert.equal(res?.status(), 200, p);
        problems.push(...(await axeProblems(page)));
      }
    }
    await page.goto(`${server.baseUrl}/account/filters`);
    await page.screenshot({ path: path.join(SHOTS, 'account-filters.png'), fullPage: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(errors, []);
  });
});
