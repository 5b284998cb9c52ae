// The client helper against a server whose names do not resolve (`fingerpost.test`, served from
// `mail.fingerpost.test`, RFC 2606 names that cannot leave the machine): `--connect-to` is
// honoured after WebFinger too (issuer metadata, registration, device and token endpoints, later
// refreshes by `fingerpost token`), a name that does not resolve is a permanent error (exit 1),
// a sign-in tried again reuses its registered client, `--issuer` still discovers the services,
// an address nobody serves is refused before any sign-in, and `token --service calendar` carries
// the calendar audience and scope.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { accountPaths, clientPaths } from '../../src/client/store/paths.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { approveDevice, CHROMIUM, clientHome, PASSWORD, spawnCli } from './client-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const ALICE = 'alice@fingerpost.test';
const HOST = 'mail.fingerpost.test';

function jwtPayload(token: string): { aud?: string | string[]; scope?: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

describe('client helper with names that do not resolve', { skip }, () => {
  let server: TestServer;
  let port: number;
  let browser: Browser;
  let home: Awaited<ReturnType<typeof clientHome>>;
  let env: Record<string, string>;
  let issuer: string;

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    server = await startTestServer({
      domain: 'fingerpost.test',
      overrides: { server: { hostname: HOST }, http: { port, public_url: `https://${HOST}:${port}` } },
    });
    await server.services.accounts.addUser({ address: ALICE, password: PASSWORD, displayName: 'Alice' });
    issuer = `https://${HOST}:${port}/oidc`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--ignore-certificate-errors', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
    });
    home = await clientHome(server);
    env = { ...home.env, FINGERPOST_PASSPHRASE: 'names test passphrase' };
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await home?.close();
  });

  const both = () => ['--connect-to', `fingerpost.test=127.0.0.1:${port}`, '--connect-to', `${HOST}=127.0.0.1:${port}`];

  async function deviceLogin(address: string, args: string[], e = env): Promise<{ code: number | null; stderr: string }> {
    const c = spawnCli(['login', address, '--flow', 'device', '--scrypt-work-factor', '12', ...args], e);
    const m = await c.waitFor(/open (https:\S+) and enter the code (\S+)/);
    const page = await browser.newPage();
    try {
      await approveDevice(page, m[1]!, m[2]!, address);
      return { code: await c.exited, stderr: c.stderr };
    } finally {
      await page.close();
    }
  }

  it('a name that does not resolve after WebFinger is a permanent error (exit 1), not "try again later"', async () => {
    const c = spawnCli(['login', ALICE, '--flow', 'device', '--connect-to', `fingerpost.test=127.0.0.1:${port}`], env);
    assert.equal(await c.exited, 1, c.stderr);
    assert.match(c.stderr, new RegExp(`${HOST.replace(/\./g, '\\.')} does not resolve`));
    assert.doesNotMatch(c.stderr, /try again later/);
  });

  it('a sign-in abandoned after registering is tried again with the same client', async () => {
    const first = spawnCli(['login', ALICE, '--flow', 'device', '--timeout', '1', '--scrypt-work-factor', '12', ...both()], env);
    const code = await first.exited;
    assert.notEqual(code, 0, first.stderr);
    assert.match(first.stderr, /Registering Fingerpost as a public client/);
    const registrations = JSON.parse(await readFile(clientPaths(env).registrations, 'utf8')) as {
      issuers: Record<string, { clientId: string }>;
    };
    const clientId = registrations.issuers[issuer]?.clientId;
    assert.ok(clientId, 'the registration is remembered before the sign-in ends');

    const second = await deviceLogin(ALICE, both());
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /Registering/);
    assert.match(second.stderr, new RegExp(`client id ${clientId}, remembered for`));
  });

  it('honours --connect-to in every later request: token refreshes for new audiences, the JMAP check', async () => {
    const account = JSON.parse(await readFile(accountPaths(clientPaths(env), ALICE).file, 'utf8')) as { connectTo: Record<string, string> };
    assert.deepEqual(account.connectTo, { 'fingerpost.test': `127.0.0.1:${port}`, [HOST]: `127.0.0.1:${port}` });
    const calendar = spawnCli(['token', ALICE, '--service', 'calendar'], env);
    assert.equal(await calendar.exited, 0, calendar.stderr);
    const claims = jwtPayload(calendar.stdout.trim());
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    assert.ok(aud.includes(`https://${HOST}:${port}/calendar`), `calendar audience in ${JSON.stringify(claims.aud)}`);
    assert.match(claims.scope ?? '', /urn:ietf:params:oauth:scope:calendars/);
    const jmap = spawnCli(['check', ALICE, '--service', 'jmap'], env);
    assert.equal(await jmap.exited, 0, `${jmap.stdout}\n${jmap.stderr}`);
    assert.match(jmap.stdout, /^ok +jmap /m);
  });

  it('--issuer discovers the services from the issuer when the domain has no WebFinger', async () => {
    const other = await clientHome(server);
    try {
      const e = { ...other.env, FINGERPOST_PASSPHRASE: 'issuer test passphrase' };
      const r = await deviceLogin(ALICE, ['--issuer', issuer, '--connect-to', `${HOST}=127.0.0.1:${port}`], e);
      assert.equal(r.code, 0, r.stderr);
      const account = JSON.parse(await readFile(accountPaths(clientPaths(e), ALICE).file, 'utf8')) as {
        services: { protocol: string; resource?: string }[];
      };
      assert.deepEqual([...new Set(account.services.map((s) => s.protocol))], ['imap', 'pop3', 'submission', 'jmap', 'calendar']);
      assert.ok(account.services.find((s) => s.protocol === 'calendar')?.resource);
      const setup = spawnCli(['setup', ALICE, '--for', 'mutt'], e);
      assert.equal(await setup.exited, 0, setup.stderr);
      assert.match(setup.stdout, /imap_oauth_refresh_command/);
    } finally {
      await other.close();
    }
  });

  it('an address nobody serves is refused before any sign-in (exit 1), leaving nothing behind', async () => {
    const other = await clientHome(server);
    try {
      const c = spawnCli(['login', 'bob@unserved.test', '--issuer', issuer, '--connect-to', `${HOST}=127.0.0.1:${port}`], other.env);
      assert.equal(await c.exited, 1, c.stderr);
      assert.match(c.stderr, /no mail services found for bob@unserved\.test/);
      assert.doesNotMatch(c.stderr, /Registering|Signing in/);
      const s = spawnCli(['setup', 'bob@unserved.test', '--for', 'mutt'], other.env);
      assert.equal(await s.exited, 2, 'no account: sign-in needed');
      assert.equal(s.stdout, '');
    } finally {
      await other.close();
    }
  });
});
