// The client commands as a mail client runs them (the `fingerpost` launcher): bad input gives a
// clear message on stderr, nothing on stdout, a non-zero exit, and leaves the token file alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accountPaths } from '../../../src/client/store/paths.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { freePorts } from '../../helpers/ports.ts';
import { account, type Home, tempHome } from './fixture.ts';

const LAUNCHER = path.resolve(import.meta.dirname, '../../../bin/fingerpost.js');
const ALICE = 'alice@example.test';

/** Preloaded by the child: at exit it names, on stderr, whether commander and which heavy built-ins were loaded. */
const LOAD_PROBE = `data:text/javascript,${encodeURIComponent(`
import module from 'node:module';
let commander = false;
module.registerHooks({ load(url, context, next) { if (url.includes('/node_modules/commander/')) commander = true; return next(url, context); } });
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => /^NativeModule (tls|child_process|tty)$/.test(m)).map((m) => m.slice(13));
  process.stderr.write('LOADED ' + JSON.stringify({ commander, builtins }) + '\\n');
});`)}`;

function fingerpost(
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...nodeArgs, LAUNCHER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fingerpost token/setup/check on bad input', () => {
  let home: Home;
  let file: string;
  before(async () => {
    home = await tempHome({ FINGERPOST_PASSPHRASE: 'the right passphrase' });
    const store = home.store();
    await store.save(account(ALICE, { kind: 'age', workFactor: 10, reason: 't' }), {
      refreshToken: 'rt',
      tokens: { 'imap://mail.example.test': { token: 'cached-token', expiresAt: Date.now() + 3_600_000, obtainedAt: Date.now() } },
    });
    file = accountPaths(store.paths, ALICE).file;
  });
  after(() => home.close());

  it('prints the cached token and nothing else', async () => {
    const r = await fingerpost(['token', ALICE, '--service', 'imap'], home.env);
    assert.deepEqual(r, { code: 0, stdout: 'cached-token\n', stderr: '' });
  });

  it('a well-formed call loads neither the command-line library nor tls/child_process/tty; a malformed one gets the full parser', async () => {
    const probe = ['--import', LOAD_PROBE];
    const loaded = (stderr: string) => JSON.parse(/^LOADED (.*)$/m.exec(stderr)![1]!) as { commander: boolean; builtins: string[] };
    for (const args of [
      ['token', ALICE, '--service', 'imap'],
      ['token', '--format=json', ALICE],
    ]) {
      const r = await fingerpost(args, home.env, probe);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(loaded(r.stderr), { commander: false, builtins: [] }, args.join(' '));
    }
    const bad = await fingerpost(['token', ALICE, '--service', 'gopher'], home.env, probe);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Allowed choices are imap, pop3, smtp, jmap, calendar/);
    assert.equal(loaded(bad.stderr).commander, true);
    const help = await fingerpost(['token', '--help'], home.env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--min-valid <seconds>/);
  });

  it('a wrong passphrase: exit 1, a clear message, the file unchanged', async () => {
    const before = await readFile(file);
    const r = await fingerpost(['token', ALICE], { ...home.env, FINGERPOST_PASSPHRASE: 'a wrong passphrase' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /the passphrase does not open the token file of alice@example\.test/);
    assert.deepEqual(await readFile(file), before);
  });

  it('a corrupt or foreign token file: exit 1, the file named, left as it is', async () => {
    const original = await readFile(file, 'utf8');
    for (const text of [original.slice(0, 200), JSON.stringify({ format: 'mutt_oauth2', access_token: 'x' }), '']) {
      await writeFile(file, text);
      const r = await fingerpost(['token', ALICE], home.env);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`${file.replace(/[.\\/]/g, '\\$&')} is not usable`));
      assert.match(r.stderr, /fix: move it away and sign in again: fingerpost login alice@example\.test/);
      assert.equal(await readFile(file, 'utf8'), text);
    }
    await writeFile(file, original);
  });

  it('no account: exit 2 (sign-in needed) for token, setup and check', async () => {
    for (const args of [
      ['token', 'nobody@example.test'],
      ['setup', 'nobody@example.test', '--for', 'mutt'],
      ['check', 'nobody@example.test'],
    ]) {
      const r = await fingerpost(args, home.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /no stored sign-in/);
    }
  });

  it('a Gmail address without a client id: says how to get one, ships none, writes nothing', async () => {
    const r = await fingerpost(['login', 'someone@gmail.com'], home.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Google needs an OAuth client id of your own; Fingerpost ships none and borrows none/);
    assert.match(r.stderr, /fix: create an OAuth client of type "Desktop app" in the Google Cloud console/);
    await assert.rejects(readFile(accountPaths(home.store().paths, 'someone@gmail.com').file), { code: 'ENOENT' });
  });

  it('freebusy never sends a password or token to a cleartext URL', async () => {
    for (const extra of [['--password-stdin'], []]) {
      const r = await fingerpost(
        [
          'freebusy',
          'bob@example.org',
          '--from',
          '2026-11-02',
          '--to',
          '2026-11-03',
          '--as',
          ALICE,
          '--server',
          'http://127.0.0.1:9/calendar',
          ...extra,
        ],
        home.env,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /http:\/\/127\.0\.0\.1:9\/calendar is not an https URL/);
      assert.equal(r.stdout, '');
    }
  });

  it('an issuer that is down, overloaded or throttling: exit 3 (try later), nothing on stdout, the file unchanged', async () => {
    const tlsFiles = await ensureLocalTls(path.join(home.dir, 'issuer'), ['localhost']);
    const answers: Record<string, [number, string]> = {
      '/busy/token': [503, 'Service Unavailable'],
      '/slow/token': [429, 'Too Many Requests'],
      '/gone/token': [400, JSON.stringify({ error: 'invalid_grant', error_description: 'grant revoked' })],
    };
    const server = https.createServer({ cert: await readFile(tlsFiles.cert), key: await readFile(tlsFiles.key) }, (req, res) => {
      const [status, body] = answers[req.url ?? ''] ?? [404, ''];
      res.writeHead(status, { 'content-type': status === 400 ? 'application/json' : 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const [closed] = await freePorts(1);
    try {
      const cases: [string, string, number, RegExp][] = [
        ['down', `https://localhost:${closed}/down`, 3, /cannot reach the issuer \(ECONNREFUSED\)/],
        ['busy', `https://localhost:${port}/busy`, 3, /the issuer answered HTTP 503/],
        ['slow', `https://localhost:${port}/slow`, 3, /the issuer answered HTTP 429/],
        ['gone', `https://localhost:${port}/gone`, 2, /the issuer answered invalid_grant \(grant revoked\)/],
      ];
      for (const [name, issuer, code, message] of cases) {
        const address = `${name}@example.test`;
        const store = home.store();
        await store.save(
          account(
            address,
            { kind: 'age', workFactor: 10, reason: 't' },
            { issuer, metadata: { issuer, token_endpoint: `${issuer}/token` } },
          ),
          {
            refreshToken: 'rt',
            tokens: { 'imap://mail.example.test': { token: 'expired', expiresAt: Date.now() - 1000, obtainedAt: Date.now() - 3_600_000 } },
          },
        );
        const accountFile = accountPaths(store.paths, address).file;
        const before = await readFile(accountFile);
        const r = await fingerpost(['token', address, '--service', 'imap', '--ca', tlsFiles.caCert], home.env);
        assert.equal(r.code, code, `${name}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, message);
        assert.match(r.stderr, code === 3 ? /fix: try again later/ : new RegExp(`fix: sign in again: fingerpost login ${address}`));
        assert.deepEqual(await readFile(accountFile), before);
      }
    } finally {
      server.close();
    }
  });

  it('bad usage: exit 1 with the reason', async () => {
    const r = await fingerpost(['token'], home.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /which account\?/);
    const bad = await fingerpost(['token', ALICE, '--format', 'yaml'], home.env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Allowed choices are token, oauthbearer, xoauth2, json/);
    for (const days of ['two weeks', '-1', '']) {
      const warn = await fingerpost(['token', '--keepalive', '--warn-days', days], home.env);
      assert.equal(warn.code, 1, warn.stderr);
      assert.match(warn.stderr, /--warn-days must be a number of days/);
    }
    const addr = await fingerpost(['token', 'not an address'], home.env);
    assert.equal(addr.code, 1);
    assert.match(addr.stderr, /is not a valid email address/);
  });
});
