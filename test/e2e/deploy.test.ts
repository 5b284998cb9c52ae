// The deployment files in deploy/ (docs/deployment.md): the systemd unit passes
// `systemd-analyze verify` and its ExecStart, Environment and ExecReload start, reload and stop a
// real server when run as systemd would (systemd is not PID 1 here, so the commands are run
// directly); the container health check answers for a running node and fails for a stopped one;
// every FINGERPOST_* variable in compose.yaml is a configuration key and the image exposes the
// default ports. No Docker daemon runs here: the image itself is not built in this test.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { envKeys } from '../../src/config/load.ts';
import { commandSkip } from '../helpers/peers.ts';
import { portOverrides, ROOT } from '../helpers/server.ts';

const exec = promisify(execFile);
const DEPLOY = path.join(ROOT, 'deploy');

/** `Key=value` lines of a unit file's sections (repeated keys in order). */
function unitEntries(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('deploy/', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-deploy-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the systemd unit passes systemd-analyze verify', { skip: commandSkip('systemd-analyze', 'systemd', ['--version']) }, async () => {
    const unit = (await readFile(path.join(DEPLOY, 'fingerpost.service'), 'utf8')).replaceAll('/opt/fingerpost', ROOT);
    const file = path.join(dir, 'fingerpost.service');
    await writeFile(file, unit);
    const r = await exec('systemd-analyze', ['verify', file]).catch((err: { stdout: string; stderr: string; code: number }) => err);
    assert.equal('code' in r ? r.code : 0, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  });

  it('the unit’s ExecStart serves, ExecReload (SIGHUP) reloads and SIGTERM drains to exit 0; the health check follows', async () => {
    const entries = unitEntries(await readFile(path.join(DEPLOY, 'fingerpost.service'), 'utf8'));
    const get = (k: string) => entries.filter(([key]) => key === k).map(([, v]) => v);
    assert.deepEqual(get('KillMode'), ['mixed'], 'SIGTERM reaches only the primary, which drains its workers');
    assert.deepEqual(get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    const [cmd, ...args] = get('ExecStart')[0]!.replaceAll('/opt/fingerpost', ROOT).split(' ');
    const data = path.join(dir, 'data');
    const conf = path.join(dir, 'fingerpost.toml');
    const { ports } = await portOverrides();
    await writeFile(
      conf,
      `[http]\nport = ${ports.https}\n[imap]\nport = ${ports.imap}\ntls_port = ${ports.imaps}\n[pop3]\nenabled = false\n` +
        `[smtp]\nport = ${ports.smtp}\n[submission]\nport = ${ports.submission}\ntls_port = ${ports.submissions}\n` +
        '[managesieve]\nenabled = false\n[log]\nlevel = "info"\nformat = "json"\n',
    );
    const env: Record<string, string> = {};
    for (const e of get('Environment')) env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
    assert.equal(env.FINGERPOST_CONFIG, '/etc/fingerpost/fingerpost.toml');
    Object.assign(env, { FINGERPOST_DATA: data, FINGERPOST_CONFIG: conf });
    const child = spawn(cmd!, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const health = () =>
      exec(process.execPath, [path.join(DEPLOY, 'healthcheck.mjs')], {
        env: { ...process.env, FINGERPOST_HTTP_PORT: String(ports.https) },
      }).then(
        () => 0,
        (err: { code: number }) => err.code,
      );
    try {
      const deadline = Date.now() + 180_000;
      while (!out.includes('Fingerpost is running')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `the server did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, /Workers: +2 processes/);
      assert.equal(await health(), 0, 'healthy while running');
      // ExecReload: the configuration is read again; a changed port needs a restart and says so.
      await writeFile(
        conf,
        (await readFile(conf, 'utf8'))
          .replace('level = "info"', 'level = "debug"')
          .replace(`port = ${ports.smtp}`, `port = ${ports.smtp + 1}`),
      );
      child.kill('SIGHUP');
      while (!/needs restart/.test(out)) {
        assert.ok(Date.now() < deadline, `no reload logged:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, /"keys":\["log\.level"\].*"msg":"configuration reloaded"/);
      assert.match(out, /"keys":\["smtp\.port"\].*needs restart/);
      assert.equal(child.exitCode, null, 'SIGHUP does not end the server');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, 'SIGTERM drains and exits 0');
      assert.notEqual(await health(), 0, 'unhealthy once stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('compose.yaml sets only real configuration keys; the image exposes the default ports', async () => {
    const compose = await readFile(path.join(DEPLOY, 'compose.yaml'), 'utf8');
    const keys = envKeys();
    const used = [...compose.matchAll(/^\s+(FINGERPOST_[A-Z0-9_]+):/gm)].map((m) => m[1]!);
    assert.ok(used.includes('FINGERPOST_STORE_URL'));
    assert.deepEqual(
      used.filter((k) => !keys.has(k)),
      [],
      'every variable names a key of docs/configuration.md',
    );
    const dockerfile = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)![1]!.split(/\s+/).map(Number);
    const { loadConfig } = await import('../../src/config/load.ts');
    // An empty data directory: the defaults, not the fingerpost.toml an earlier test wrote.
    const c = loadConfig({ file: undefined, dataDir: path.join(dir, 'empty'), env: {} });
    const defaults = [
      c.http.port,
      c.imap.port,
      c.imap.tls_port,
      c.pop3.port,
      c.pop3.tls_port,
      c.smtp.port,
      c.submission.port,
      c.submission.tls_port,
      c.managesieve.port,
    ];
    assert.deepEqual(exposed.sort(), defaults.sort());
    assert.match(dockerfile, /^USER fingerpost$/m, 'runs unprivileged');
    assert.match(dockerfile, /^HEALTHCHECK /m);
  });
});
