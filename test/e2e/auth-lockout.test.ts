// Failed sign-ins from elsewhere never lock the owner out (docs/authentication.md "Abuse
// protection"), over real connections from distinct source addresses (127.0.0.x on loopback):
// wrong passwords for one account from ten addresses, then the right one from a fresh address, on
// IMAP and on the embedded provider's sign-in page, with one rule shared between them. Attackers
// are still stopped: an address that guessed is refused for that account, a sprayer is banned,
// and a browser that signed in before (device cookie) passes even from a banned address.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { encodeBase64 } from '../../src/auth/sasl/base64.ts';
import { encodePlain } from '../../src/auth/sasl/plain.ts';
import { SCOPES } from '../../src/config/resources.ts';
import { caFetch, FormBrowser, formAction, hiddenInput } from '../helpers/https-fetch.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const OWNER = 'owner@example.test';
const PASSWORD = 'the owner password';
const REDIRECT = 'http://127.0.0.1:49152/cb';

describe('the owner is never locked out by failures from other addresses', () => {
  let t: TestServer;
  let config: oidc.Configuration;
  const open: LineClient[] = [];

  before(async () => {
    t = await startTestServer({
      // A long max_delay and a low account_failures: an answer held back for the owner because
      // of other addresses' failures would take minutes and make these tests time out.
      overrides: { auth: { limits: { max_delay: '10m', account_failures: 3 } } },
    });
    await t.services.accounts.addUser({ address: OWNER, password: PASSWORD });
    await t.services.accounts.addUser({ address: 'web@example.test', password: PASSWORD });
    const fetch = caFetch(t.ca);
    config = await oidc.dynamicClientRegistration(
      new URL(`${t.baseUrl}/oidc`),
      { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' },
      oidc.None(),
      { [oidc.customFetch]: fetch },
    );
  });
  after(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  /** IMAP LOGIN from `from`; returns the tagged answer. */
  async function imapLogin(from: string, user: string, password: string): Promise<string> {
    const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca, localAddress: from });
    open.push(c);
    await c.until(/^\* OK/);
    c.write(`a1 AUTHENTICATE PLAIN ${encodeBase64(encodePlain({ authcid: user, password }))}\r\n`);
    const answer = (await c.until(/^a1 /, 15_000)).at(-1)!;
    c.close();
    return answer;
  }

  /** Opens the sign-in page of a new authorization request in `browser`; returns the form's target and token. */
  async function signInPage(browser: FormBrowser): Promise<{ action: URL; csrf: string }> {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: `openid ${SCOPES.mail}`,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const { res, url: page } = await browser.follow(url);
    const html = await res.text();
    assert.equal(res.status, 200, html.slice(0, 200));
    return { action: new URL(formAction(html, '/login')!, page), csrf: hiddenInput(html, 'csrf')! };
  }

  /** Posts the sign-in form from `from`; returns the status (303: signed in, 401: wrong, 429: refused). */
  async function webSignIn(browser: FormBrowser, from: string, email: string, password: string): Promise<Response> {
    browser.localAddress = from;
    const { action, csrf } = await signInPage(browser);
    const res = await browser.request(action, { form: { csrf, email, password } });
    await res.arrayBuffer();
    return res;
  }

  it('IMAP: ten wrong passwords from ten addresses, then the right one from a fresh address is accepted at once', {
    timeout: 60_000,
  }, async () => {
    for (let i = 2; i <= 11; i++) assert.match(await imapLogin(`127.0.0.${i}`, OWNER, `guess ${i}`), /^a1 NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await imapLogin('127.0.0.12', OWNER, PASSWORD), /^a1 OK/, 'the owner from a fresh address');
    assert.match(
      await imapLogin('127.0.0.3', OWNER, PASSWORD),
      /^a1 NO \[UNAVAILABLE\]/,
      'an address that guessed is refused for this account',
    );
    assert.match(await imapLogin('127.0.0.3', 'web@example.test', PASSWORD), /^a1 OK/, '…only for this account');
    assert.match(await imapLogin('127.0.0.12', OWNER, 'a typo'), /^a1 NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await imapLogin('127.0.0.12', OWNER, PASSWORD), /^a1 OK/, "the owner's address stays known after a typo");
  });

  it('curl, a client nobody here wrote, signs the owner in over IMAP from another fresh address after the attack', {
    skip: commandSkip('curl', 'curl'),
    timeout: 60_000,
  }, async () => {
    const run = (from: string, password: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(
          'curl',
          [
            '--silent',
            '--show-error',
            '--max-time',
            '30',
            '--interface',
            from,
            '--cacert',
            t.caFile,
            '--user',
            `${OWNER}:${password}`,
            `imaps://localhost:${t.ports.imaps}/`,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const owner = await run('127.0.0.13', PASSWORD);
    assert.equal(owner.code, 0, owner.stderr);
    const attacker = await run('127.0.0.4', PASSWORD);
    assert.notEqual(attacker.code, 0, 'an address that guessed is refused for this account');
  });

  it('the sign-in page: the same attack (here through IMAP and the page) does not refuse the owner from a fresh address', {
    timeout: 60_000,
  }, async () => {
    // The IMAP failures of the previous test count here too (one rule); add ten on the page.
    for (let i = 21; i <= 30; i++) {
      const res = await webSignIn(new FormBrowser(t.ca), `127.0.0.${i}`, OWNER, `guess ${i}`);
      assert.equal(res.status, 401);
    }
    const owner = await webSignIn(new FormBrowser(t.ca), '127.0.0.31', OWNER, PASSWORD);
    assert.equal(owner.status, 303, 'the right password from an address that has not failed is never refused');
    const attacker = await webSignIn(new FormBrowser(t.ca), '127.0.0.22', OWNER, PASSWORD);
    assert.equal(attacker.status, 429, 'an address that guessed is refused, even with the right password');
    assert.ok(Number(attacker.headers.get('retry-after')) > 0);
  });

  it('a browser that signed in before passes even from an address banned for spraying; a new browser there does not', {
    timeout: 60_000,
  }, async () => {
    const mine = new FormBrowser(t.ca);
    assert.equal((await webSignIn(mine, '127.0.0.40', 'web@example.test', PASSWORD)).status, 303);
    assert.ok(
      mine.setCookieHeaders.some((c) => /^fp_device=[^;]+;.*Path=\/oidc\/interaction.*HttpOnly.*Secure.*SameSite=Lax/i.test(c)),
      mine.setCookieHeaders.join('\n'),
    );
    // Someone else on 127.0.0.41 sprays six accounts (auth.limits.spray_accounts) over IMAP: banned.
    for (const u of ['a', 'b', 'c', 'd', 'e', 'f']) await imapLogin('127.0.0.41', `${u}@example.test`, 'Summer2026!');
    assert.match(await imapLogin('127.0.0.41', 'web@example.test', PASSWORD), /^a1 NO \[UNAVAILABLE\]/, 'banned');
    assert.equal((await webSignIn(new FormBrowser(t.ca), '127.0.0.41', 'web@example.test', PASSWORD)).status, 429);
    assert.equal((await webSignIn(mine, '127.0.0.41', 'web@example.test', PASSWORD)).status, 303, 'the known device passes');
  });

  it('counts what the limits did in /metrics', async () => {
    const res = await caFetch(t.ca)(`${t.baseUrl}/metrics`);
    const text = await res.text();
    assert.match(text, /fingerpost_auth_limited_total\{limit="account_attack"\} [1-9]/);
    assert.match(text, /fingerpost_auth_limited_total\{limit="source_ban"\} [1-9]/);
    assert.match(text, /fingerpost_auth_bans_total\{reason="spray"\} 1/);
    assert.match(text, /fingerpost_auth_account_attacks_total [1-9]/);
    assert.match(text, /fingerpost_auth_known_passes_total\{kind="device"\} 1/);
    assert.match(text, /fingerpost_auth_known_passes_total\{kind="source"\} [1-9]/);
  });
});
