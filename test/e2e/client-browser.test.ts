// fingerpost login with a browser: the loopback flow (RFC 8252 §7.3) with headless Chromium
// following the redirect to 127.0.0.1, and the paste-the-redirect flow for remote shells; bad
// input: a pasted redirect with the wrong state, an issuer whose metadata names another issuer.
// Each failure exits non-zero with a clear message and leaves the store as it was.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { accountPaths, clientPaths } from '../../src/client/store/paths.ts';
import { TokenStore } from '../../src/client/store/token-store.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import type { TestServer } from '../helpers/server.ts';
import { CHROMIUM, clientHome, clientTestServer, connectTo, launchChromium, signInAndAllow, snapshot, spawnCli } from './client-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const BOB = 'bob@localhost';
const CAROL = 'carol@localhost';

describe('client helper: loopback and paste flows in headless Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let home: Awaited<ReturnType<typeof clientHome>>;
  let env: Record<string, string>;

  before(async () => {
    server = await clientTestServer([BOB, CAROL]);
    browser = await launchChromium(server);
    home = await clientHome(server);
    env = { ...home.env, FINGERPOST_PASSPHRASE: 'browser test passphrase' };
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await home?.close();
  });

  it('loopback: Chromium signs in and follows the redirect back to the listener on 127.0.0.1', async () => {
    const c = spawnCli(['login', BOB, '--flow', 'loopback', '--no-browser', '--scrypt-work-factor', '12', ...connectTo(server)], env);
    const m = await c.waitFor(/in a browser to sign in \S+:\n\n {2}(https:\S+)\n/);
    const url = new URL(m[1]!);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.ok(url.searchParams.get('state'));
    assert.deepEqual(url.searchParams.getAll('resource').slice(0, 1), [`imap://${server.config.server.hostname}`]);
    assert.match(url.searchParams.get('scope')!, /offline_access/);
    // Another local process cannot end the sign-in with a redirect of its own: refused, still waiting.
    const forged = new URL(url.searchParams.get('redirect_uri')!);
    forged.search = new URLSearchParams({ code: 'forged', state: 'not-this-one' }).toString();
    assert.equal((await fetch(forged)).status, 400);
    forged.searchParams.delete('state');
    assert.equal((await fetch(forged)).status, 400);
    const page = await browser.newPage();
    try {
      await page.goto(url.href);
      await signInAndAllow(page, BOB);
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
      await page.waitForSelector('text=Signed in');
      const back = new URL(page.url());
      assert.equal(back.searchParams.get('iss'), `${server.baseUrl}/oidc`, 'the provider names itself (RFC 9207)');
    } finally {
      await page.close();
    }
    assert.equal(await c.exited, 0, c.stderr);
    assert.match(c.stderr, /loopback flow/);
    const t = spawnCli(['token', BOB, '--service', 'smtp'], env);
    assert.equal(await t.exited, 0, t.stderr);
    assert.ok(t.stdout.trim().length > 100);
  });

  async function pasteLogin(address: string, mutate: (callback: URL) => URL): Promise<{ code: number | null; stderr: string }> {
    const [port] = await freePorts(1);
    const c = spawnCli(
      ['login', address, '--flow', 'paste', '--port', String(port), '--scrypt-work-factor', '12', ...connectTo(server)],
      env,
    );
    const m = await c.waitFor(/on any machine to sign in \S+:\n\n {2}(https:\S+)\n/);
    await c.waitFor(/Paste the full address/);
    const page = await browser.newPage();
    try {
      // Nobody listens on the redirect port: the browser ends on an error page whose address is pasted.
      const request = page.waitForRequest((r) => r.url().startsWith(`http://127.0.0.1:${port}/callback`));
      await page.goto(m[1]!);
      await signInAndAllow(page, address);
      const callback = new URL((await request).url());
      c.child.stdin!.end(`${mutate(callback).href}\n`);
      return { code: await c.exited, stderr: c.stderr };
    } finally {
      await page.close();
    }
  }

  it('paste: a redirect with the wrong state is refused and nothing is written', async () => {
    const before = await snapshot(home.dir);
    const r = await pasteLogin(CAROL, (u) => {
      u.searchParams.set('state', 'not-the-state-of-this-sign-in');
      return u;
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /wrong state: refused/);
    assert.deepEqual(await snapshot(home.dir), before, 'the store is unchanged');
  });

  it('paste: the pasted redirect of the browser completes the sign-in', async () => {
    const r = await pasteLogin(CAROL, (u) => u);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /paste flow/);
    const account = JSON.parse(await readFile(accountPaths(clientPaths(env), CAROL).file, 'utf8')) as { address: string };
    assert.equal(account.address, CAROL);
  });

  it('logout revokes the refresh token at the issuer (RFC 7009) and deletes the stored sign-in', async () => {
    const store = new TokenStore({ paths: clientPaths(env), env });
    const account = await store.load(CAROL);
    const { refreshToken } = await store.openSecret(account);
    const c = spawnCli(['logout', CAROL], env);
    assert.equal(await c.exited, 0, c.stderr);
    assert.match(c.stderr, /Signed out carol@localhost: the refresh token is revoked at the issuer/);
    await assert.rejects(readFile(accountPaths(clientPaths(env), CAROL).file), { code: 'ENOENT' });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken!,
        client_id: account.clientId,
      }).toString();
      const req = https.request(
        account.metadata.token_endpoint,
        { method: 'POST', ca: server.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (r) => {
          let text = '';
          r.on('data', (d) => (text += d));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 400);
    assert.match(res.body, /invalid_grant/);
  });

  it('an issuer whose metadata names another issuer is refused and nothing is written', async () => {
    const tls = path.join(server.dataDir, 'tls');
    const impostor = https.createServer(
      { cert: await readFile(path.join(tls, 'server.pem')), key: await readFile(path.join(tls, 'server.key')) },
      (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            issuer: `${server.baseUrl}/oidc`,
            authorization_endpoint: `${server.baseUrl}/oidc/auth`,
            token_endpoint: `${server.baseUrl}/oidc/token`,
            response_types_supported: ['code'],
          }),
        );
        void req;
      },
    );
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    try {
      const before = await snapshot(home.dir);
      const issuer = `https://localhost:${(impostor.address() as AddressInfo).port}/oidc`;
      const c = spawnCli(['login', 'dave@localhost', '--issuer', issuer, '--flow', 'device', ...connectTo(server)], env);
      assert.equal(await c.exited, 1, c.stderr);
      assert.match(c.stderr, /reading the metadata of https:\/\/localhost:\d+\/oidc: the document names another issuer .*refused/);
      assert.deepEqual(await snapshot(home.dir), before, 'the store is unchanged');
    } finally {
      impostor.close();
    }
  });
});
