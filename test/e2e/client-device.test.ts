// fingerpost login → token → check against a running Fingerpost with its embedded provider:
// WebFinger discovery, dynamic registration (remembered per issuer), the device flow completed by
// headless Chromium on the provider's pages, real IMAP/POP3/SMTP/JMAP logins, and ten parallel
// `fingerpost token` calls around an expiry making exactly one refresh.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { accountPaths, clientPaths } from '../../src/client/store/paths.ts';
import { TokenStore } from '../../src/client/store/token-store.ts';
import { commandSkip } from '../helpers/peers.ts';
import type { TestServer } from '../helpers/server.ts';
import { approveDevice, CHROMIUM, clientHome, clientTestServer, connectTo, launchChromium, spawnCli } from './client-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const ALICE = 'alice@localhost';

describe('client helper: device flow, token, check', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let home: Awaited<ReturnType<typeof clientHome>>;
  let env: Record<string, string>;

  before(async () => {
    server = await clientTestServer([ALICE]);
    browser = await launchChromium(server);
    home = await clientHome(server);
    env = { ...home.env, FINGERPOST_PASSPHRASE: 'device test passphrase' };
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await home?.close();
  });

  async function deviceLogin(extra: string[] = []): Promise<{ code: number | null; stderr: string }> {
    const c = spawnCli(['login', ALICE, '--flow', 'device', '--scrypt-work-factor', '12', ...connectTo(server), ...extra], env);
    const m = await c.waitFor(/open (https:\S+) and enter the code (\S+)/);
    assert.ok(m[1]!.startsWith(`${server.baseUrl}/oidc/`), 'the verification page is on the discovered issuer');
    const page = await browser.newPage();
    try {
      await approveDevice(page, m[1]!, m[2]!, ALICE);
      return { code: await c.exited, stderr: c.stderr };
    } finally {
      await page.close();
    }
  }

  it('discovers the issuer, registers, and completes the device flow played in the browser', async () => {
    const r = await deviceLogin();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /issuer from webfinger; device flow/);
    assert.match(r.stderr, /registered dynamically \(client id \S+\)/);
    assert.match(r.stderr, /tokens: +encrypted with a passphrase \(age, scrypt\): no desktop keyring answered/);
    const file = accountPaths(clientPaths(env), ALICE).file;
    const text = await readFile(file, 'utf8');
    const account = JSON.parse(text) as { issuer: string; resources: string[]; scopes: string[] };
    assert.equal(account.issuer, `${server.baseUrl}/oidc`);
    assert.deepEqual(account.resources.slice(0, 1), [`imap://${server.config.server.hostname}`]);
    assert.ok(account.scopes.includes('offline_access') && account.scopes.includes('urn:ietf:params:oauth:scope:mail'));
    const registrations = JSON.parse(await readFile(clientPaths(env).registrations, 'utf8')) as {
      issuers: Record<string, { clientId: string }>;
    };
    assert.ok(registrations.issuers[`${server.baseUrl}/oidc`]?.clientId);
  });

  it('prints only the token on stdout, one per service audience', async () => {
    const imap = spawnCli(['token', ALICE, '--service', 'imap'], env);
    const smtp = spawnCli(['token', ALICE, '--service', 'smtp', '--format', 'json'], env);
    assert.equal(await imap.exited, 0, imap.stderr);
    assert.equal(await smtp.exited, 0, smtp.stderr);
    assert.match(imap.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'a JWT and a newline, nothing else');
    assert.equal(imap.stderr, '');
    const json = JSON.parse(smtp.stdout) as { access_token: string; resource: string; issuer: string };
    assert.equal(json.resource, `smtp://${server.config.server.hostname}`);
    assert.notEqual(json.access_token, imap.stdout.trim());
  });

  it('signs in on IMAP, POP3, SMTP (TLS and STARTTLS) and JMAP with OAUTHBEARER and XOAUTH2', async () => {
    const c = spawnCli(['check', ALICE, '--mechanism', 'both', '--ca', server.caFile], { ...env, NODE_EXTRA_CA_CERTS: '' });
    assert.equal(await c.exited, 0, `${c.stdout}\n${c.stderr}`);
    const lines = c.stdout.trim().split('\n');
    for (const [service, tls, mech] of [
      ['imap', 'TLS', 'OAUTHBEARER'],
      ['imap', 'STARTTLS', 'XOAUTH2'],
      ['pop3', 'TLS', 'XOAUTH2'],
      ['smtp', 'TLS', 'OAUTHBEARER'],
      ['smtp', 'STARTTLS', 'OAUTHBEARER'],
      ['smtp', 'STARTTLS', 'XOAUTH2'],
    ])
      assert.ok(
        lines.some((l) => new RegExp(`^ok +${service} +localhost:\\d+ ${tls} +${mech} `).test(l)),
        `${service} ${tls} ${mech} in:\n${c.stdout}`,
      );
    assert.ok(lines.some((l) => /^ok +imap .* signed in; \d+ mailboxes/.test(l)));
    assert.ok(lines.some((l) => /^ok +jmap +https:\/\/localhost:\d+\/jmap\/session +Bearer +session for alice@localhost/.test(l)));
    assert.ok(!lines.some((l) => l.startsWith('FAIL')));
  });

  it('ten parallel token calls around an expiry make one refresh and all get the same valid token', async () => {
    const store = new TokenStore({ paths: clientPaths(env), env });
    const imapResource = `imap://${server.config.server.hostname}`;
    const account = await store.load(ALICE);
    const secret = await store.openSecret(account);
    const old = secret.tokens[imapResource]!;
    // The stored access token, obtained an hour ago, is about to expire: every caller wants a refresh
    // (a token obtained moments ago would still count as fresh for half its short lifetime).
    await store.save(account, {
      ...secret,
      tokens: { ...secret.tokens, [imapResource]: { ...old, obtainedAt: Date.now() - 3_595_000, expiresAt: Date.now() + 5_000 } },
    });
    const calls = Array.from({ length: 10 }, () => spawnCli(['token', ALICE, '--service', 'imap'], env));
    const codes = await Promise.all(calls.map((c) => c.exited));
    assert.deepEqual(codes, Array(10).fill(0), calls.map((c) => c.stderr).join('\n'));
    const tokens = new Set(calls.map((c) => c.stdout.trim()));
    assert.equal(tokens.size, 1, 'every caller got the token of the one refresh');
    const [fresh] = tokens;
    assert.notEqual(fresh, old.token, 'it is a new token');
    const after = await store.openSecret(await store.load(ALICE));
    assert.equal(after.tokens[imapResource]?.token, fresh);
    assert.notEqual(after.refreshToken, secret.refreshToken, 'the refresh token was rotated once');
    // Had two processes used the old refresh token, the provider would have revoked the grant
    // (refresh token reuse); the next refresh still works, so it did not happen.
    const again = spawnCli(['token', ALICE, '--service', 'imap', '--min-valid', '999999'], env);
    assert.equal(await again.exited, 0, again.stderr);
    assert.notEqual(again.stdout.trim(), fresh);
  });

  it('keepalive refreshes quietly; a second login reuses the registration', async () => {
    const k = spawnCli(['token', '--keepalive'], env);
    assert.equal(await k.exited, 0, k.stderr);
    assert.equal(k.stdout, '');
    assert.equal(k.stderr, '');
    const r = await deviceLogin();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /client id \S+, remembered for https:\/\/localhost:\d+\/oidc/);
    assert.doesNotMatch(r.stderr, /Registering/);
  });
});
