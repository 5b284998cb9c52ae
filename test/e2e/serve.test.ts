// `fingerpost serve` and `fingerpost admin` as a user runs them: a real process, real sockets, curl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { issuerLines } from '../../src/cli/serve.ts';
import { commandSkip } from '../helpers/peers.ts';
import { spawnServe } from '../helpers/process.ts';
import { selfSignedCertificate } from '../helpers/self-signed.ts';
import { portEnv, portOverrides, runCli } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const exec = promisify(execFile);
const curlSkip = commandSkip('curl', 'curl');

describe('fingerpost serve (first start, restart, admin while running)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: Awaited<ReturnType<typeof portOverrides>>['ports'];

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-serve-'));
    ({ ports } = await portOverrides());
    env = portEnv(ports);
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('first start creates the CA, the domain and a one-time admin password; healthz answers over verified TLS', {
    skip: curlSkip,
  }, async () => {
    const proc = await spawnServe(['--data', dataDir, '--domain', 'example.test'], env);
    try {
      assert.match(proc.stderr, /First start: created domain example\.test/);
      const password = /password: (\S+)/.exec(proc.stderr)?.[1];
      assert.ok(password && password.length >= 16, 'a generated admin password is printed');
      assert.match(proc.stderr, new RegExp(`imaps\\s+imaps://localhost:${ports.imaps}`));
      assert.doesNotMatch(proc.stderr, /DeprecationWarning/, 'a first start prints no warnings of the libraries it uses');
      const ca = path.join(dataDir, 'tls', 'ca.pem');
      const { stdout } = await exec('curl', ['-sS', '--fail', '--cacert', ca, `https://localhost:${ports.https}/healthz`]);
      const health = JSON.parse(stdout);
      assert.deepEqual({ status: health.status, checks: health.checks }, { status: 'ok', checks: { store: 'ok' } });
      assert.equal(typeof health.event_loop.delay_p99_ms, 'number', 'with the event-loop delay');
      // and the certificate verifies for 127.0.0.1 too
      await exec('curl', ['-sS', '--fail', '--cacert', ca, `https://127.0.0.1:${ports.https}/healthz`]);
      const metrics = await exec('curl', ['-sS', '--fail', '--cacert', ca, `https://localhost:${ports.https}/metrics`]);
      assert.match(metrics.stdout, /fingerpost_connections_total\{listener="https"\}/);
      // the password never reaches the log
      assert.ok(!proc.stdout.includes(password));
    } finally {
      assert.equal(await proc.stop('SIGTERM'), 0, 'SIGTERM drains and exits 0');
    }
  });

  it('a restart reuses everything, and every mail listener greets in its own protocol', async () => {
    const proc = await spawnServe(['--data', dataDir], env);
    try {
      assert.doesNotMatch(proc.stderr, /First start/, 'a restart reuses everything');
      assert.match(proc.stderr, new RegExp(`Trusted token issuers: https://localhost:${ports.https}/oidc \\(embedded\\)\n`));
      const ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
      const checks: Array<[number, boolean, RegExp]> = [
        [ports.imap, false, /^\* OK \[CAPABILITY [^\]]*STARTTLS[^\]]*LOGINDISABLED/],
        [ports.imaps, true, /^\* OK \[CAPABILITY [^\]]*AUTH=PLAIN/],
        [ports.pop3, false, /^\+OK /],
        [ports.pop3s, true, /^\+OK /],
        [ports.smtp, false, /^220 localhost ESMTP/],
        [ports.submission, false, /^220 localhost ESMTP/],
        [ports.submissions, true, /^220 localhost ESMTP/],
      ];
      for (const [port, tls, pattern] of checks) {
        const c = await LineClient.connect(port, { tls, ca });
        assert.match((await c.line()) ?? '', pattern, `greeting on port ${port}`);
        c.close();
      }
      const users = await runCli(['admin', 'user', 'list', '--data', dataDir]);
      assert.equal(users.code, 0, users.stderr);
      assert.match(users.stdout, /admin@example\.test\s+Administrator\s+yes/);
    } finally {
      assert.equal(await proc.stop('SIGINT'), 0);
    }
  });

  // About twenty CLI processes in a row: each pays a Node start, so this test gets more than the default 120 s.
  it('the admin CLI manages domains, users, aliases and app passwords while the server runs', { timeout: 300_000 }, async () => {
    const proc = await spawnServe(['--data', dataDir], env);
    try {
      const cli = (args: string[], input?: string) => runCli([...args, '--data', dataDir], { input });
      assert.equal((await cli(['admin', 'domain', 'add', 'second.test'])).code, 0);
      const dup = await cli(['admin', 'domain', 'add', 'second.test']);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /domain second\.test already exists/);
      const add = await cli(['admin', 'user', 'add', 'bob@second.test', '--password-stdin'], 'correct horse battery\n');
      assert.equal(add.code, 0, add.stderr);
      assert.doesNotMatch(add.stdout, /password:/);
      const gen = await cli(['admin', 'user', 'add', 'carol@second.test']);
      assert.match(gen.stdout, /password: \S{16,}/);
      const unknown = await cli(['admin', 'user', 'add', 'dave@nowhere.test']);
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /domain nowhere\.test is not served here\n {2}fix: add it first: fingerpost admin domain add nowhere\.test/,
      );
      const busy = await cli(['admin', 'domain', 'remove', 'second.test']);
      assert.equal(busy.code, 1, 'a domain with accounts: refused, not a usage error (2)');
      assert.match(busy.stderr, /domain second\.test still has accounts\n {2}fix: remove them first/);
      assert.equal((await cli(['admin', 'alias', 'add', 'info@second.test', 'bob@second.test'])).code, 0);
      assert.match((await cli(['admin', 'alias', 'list'])).stdout, /info@second\.test\s+bob@second\.test/);
      const app = await cli([
        'admin',
        'app-password',
        'create',
        'bob@second.test',
        '--name',
        'laptop',
        '--protocols',
        'imap,smtp',
        '--expires',
        '30d',
      ]);
      assert.equal(app.code, 0, app.stderr);
      assert.match(app.stdout, /secret: [a-z2-9]{4}(-[a-z2-9]{4}){4}\n/);
      const listed = await cli(['admin', 'app-password', 'list', 'bob@second.test']);
      assert.match(listed.stdout, /laptop\s+imap,smtp/);
      assert.equal((await cli(['admin', 'app-password', 'revoke', 'bob@second.test', 'laptop'])).code, 0);
      assert.equal((await cli(['admin', 'user', 'passwd', 'bob@second.test', '--password-stdin'], 'another long password\n')).code, 0);
      assert.equal((await cli(['admin', 'user', 'remove', 'carol@second.test'])).code, 0);
      const users = (await cli(['admin', 'user', 'list', '--domain', 'second.test'])).stdout;
      assert.match(users, /bob@second\.test/);
      assert.doesNotMatch(users, /carol/);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });
});

describe('the banner names whose tokens are accepted', () => {
  const issuer = (name: string, source: 'config' | 'in-process', domains: string[] = []) => ({
    issuer: name,
    source,
    options: { domains } as never,
  });

  it('lists the embedded provider and every trusted external issuer with its domains', () => {
    assert.deepEqual(
      issuerLines(
        [
          issuer('https://mail.example.test/oidc', 'in-process'),
          issuer('https://sso.example.test/realms/staff', 'config'),
          issuer('https://login.partner.test', 'config', ['partner.test', 'partner.example']),
        ],
        true,
      ),
      [
        '  Trusted token issuers: https://mail.example.test/oidc (embedded)',
        '                         https://sso.example.test/realms/staff',
        '                         https://login.partner.test for partner.test, partner.example',
      ],
    );
  });

  it('says when no token is accepted', () => {
    assert.deepEqual(issuerLines([], true), ['  Tokens:        no issuer is trusted; OAuth sign-in is off']);
    assert.deepEqual(issuerLines([issuer('https://x.test', 'config')], false), ['  Tokens:        not accepted (auth.oauth = false)']);
  });
});

describe('start-up failures are one clear line and a non-zero exit', () => {
  it('a malformed config exits 2 naming the key, the value and what is expected', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-bad-'));
    const file = path.join(dir, 'bad.toml');
    await writeFile(file, '[imap]\nport = "many"\n');
    const r = await runCli(['serve', '--config', file, '--data', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config key imap\.port = "many" in .*bad\.toml: /);
    const env = await runCli(['serve', '--data', dir], { env: { FINGERPOST_LIMITS_IDLE_TIMEOUT: 'later' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /config key limits\.idle_timeout = "later"/);
    await rm(dir, { recursive: true, force: true });
  });

  it('a port in use names the port and the key to change, and leaves no admin account behind', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-port-'));
    const { ports } = await portOverrides();
    const blocker = net.createServer().listen(ports.imaps, '0.0.0.0');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const r = await runCli(['serve', '--data', dir], { env: portEnv(ports) });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${ports.imaps} on 0\\.0\\.0\\.0 \\(imaps\\) is already in use\\n  fix: .*imap\\.tls_port`));
      assert.doesNotMatch(r.stderr, /password:/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // The failed first start took back its domain and admin account: the next start creates and prints them.
    const proc = await spawnServe(['--data', dir], portEnv(ports));
    try {
      assert.match(proc.stderr, /First start: created domain localhost/);
      assert.match(proc.stderr, /password: \S{16,}/);
    } finally {
      assert.equal(await proc.stop(), 0);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('FINGERPOST_CONFIG and FINGERPOST_DATA stand for --config and --data; DATA/fingerpost.toml is read when present', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-envpath-'));
    const file = path.join(dir, 'other.toml');
    await writeFile(file, '[pop3]\nport = "several"\n');
    const viaEnv = await runCli(['serve', '--data', dir], { env: { FINGERPOST_CONFIG: file } });
    assert.equal(viaEnv.code, 2);
    assert.match(viaEnv.stderr, /config key pop3\.port = "several" in .*other\.toml: /);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'fingerpost.toml'), '[smtp]\nport = "plenty"\n');
    // (the admin CLI, not serve: were the variable ignored, nothing would listen on the default ports)
    const viaData = await runCli(['admin', 'domain', 'list'], { env: { FINGERPOST_DATA: data } });
    assert.equal(viaData.code, 2);
    assert.match(viaData.stderr, /config key smtp\.port = "plenty" in .*data\/fingerpost\.toml: /);
    await rm(dir, { recursive: true, force: true });
  });

  it('an unwritable data directory says so and what to do', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-unw-'));
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await runCli(['serve', '--data', path.join(file, 'data')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the data directory .* is not writable \(ENOTDIR\)\n {2}fix: choose another directory/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('fingerpost serve reloads its certificate on SIGHUP', () => {
  /** The SHA-256 fingerprint of the certificate a listener presents (with SNI localhost, or none). */
  function presented(port: number, sni: boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(sni ? { servername: 'localhost' } : {}) }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.destroy();
      });
      s.on('error', reject);
    });
  }

  it('new connections get the new certificate, an open IMAP session goes on, and files that do not load keep the old one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-sighup-'));
    const data = path.join(dir, 'data');
    const a = selfSignedCertificate(dir, 'first');
    const b = selfSignedCertificate(dir, 'second');
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    await writeFile(certFile, a.cert);
    await writeFile(keyFile, a.key);
    const { ports } = await portOverrides();
    const proc = await spawnServe(['--data', data, '--domain', 'example.test'], {
      ...portEnv(ports),
      FINGERPOST_TLS_CERT: certFile,
      FINGERPOST_TLS_KEY: keyFile,
    });
    try {
      for (let i = 0; i < 200 && !/password: \S+\n/.test(proc.stderr); i++) await new Promise((r) => setTimeout(r, 50));
      const password = /password: (\S+)/.exec(proc.stderr)![1]!;
      const first = await presented(ports.imaps, true);
      const session = new ImapFlow({
        host: '127.0.0.1',
        port: ports.imaps,
        secure: true,
        tls: { ca: a.cert, servername: 'localhost' },
        auth: { user: 'admin@example.test', pass: password },
        logger: false,
      });
      session.on('error', () => {});
      await session.connect();

      await writeFile(certFile, b.cert);
      await writeFile(keyFile, b.key);
      proc.child.kill('SIGHUP');
      let now = first;
      for (let i = 0; i < 200 && now === first; i++) {
        await new Promise((r) => setTimeout(r, 50));
        now = await presented(ports.imaps, true);
      }
      assert.notEqual(now, first, 'IMAPS presents the new certificate');
      assert.equal(await presented(ports.https, false), now, 'HTTPS without SNI too');
      assert.equal(await presented(ports.https, true), now, 'HTTPS with SNI too');
      assert.equal(await presented(ports.submissions, true), now, 'and submission');
      await session.noop();
      assert.equal(session.usable, true, 'the session opened before the reload goes on');
      const status = await session.status('INBOX', { messages: true });
      assert.ok(status, 'STATUS answers');
      assert.equal(status.messages, 0);

      await writeFile(certFile, 'not a certificate');
      proc.child.kill('SIGHUP');
      const logged = () => proc.stdout + proc.stderr;
      for (let i = 0; i < 200 && !logged().includes('TLS certificate reload failed'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(logged(), /TLS certificate reload failed; the previous certificate stays in use/);
      assert.equal(await presented(ports.imaps, true), now, 'the certificate in use stays');
      assert.equal(proc.child.exitCode, null, 'the server still runs');
      await session.logout();
    } finally {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
