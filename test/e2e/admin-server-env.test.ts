// Admin commands read the configuration the server runs with: `fingerpost serve` started with
// FINGERPOST_SERVER_HOSTNAME (and nothing in a file), then `fingerpost dns` from another shell
// without that variable prints the server's host name and says where it came from; the shell's
// own variable still wins, said as much; `dns` warns when the records would point at localhost.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnServe, type ServeProcess } from '../helpers/process.ts';
import { portOverrides, runCli } from '../helpers/server.ts';

function withoutFingerpost(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => !e[0].startsWith('FINGERPOST_') && e[1] !== undefined),
  );
}

describe('admin commands and the server configuration from FINGERPOST_* variables', () => {
  let dir: string;
  let serve: ServeProcess;
  const shell = withoutFingerpost(process.env);

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-server-env-'));
    const { ports } = await portOverrides();
    await writeFile(
      path.join(dir, 'fingerpost.toml'),
      [
        `[http]\nport = ${ports.https}\nbind = "127.0.0.1"`,
        `[imap]\nport = ${ports.imap}\ntls_port = ${ports.imaps}\nbind = "127.0.0.1"`,
        `[pop3]\nport = ${ports.pop3}\ntls_port = ${ports.pop3s}\nbind = "127.0.0.1"`,
        `[smtp]\nport = ${ports.smtp}\nbind = "127.0.0.1"`,
        `[submission]\nport = ${ports.submission}\ntls_port = ${ports.submissions}\nbind = "127.0.0.1"`,
        `[managesieve]\nport = ${ports.managesieve}\nbind = "127.0.0.1"`,
        '[log]\nlevel = "warn"',
      ].join('\n'),
    );
    serve = await spawnServe(['--data', dir], { ...shell, FINGERPOST_SERVER_HOSTNAME: 'mail.example.test' });
    assert.match(serve.stderr, /Fingerpost is running/);
  });
  after(async () => {
    await serve?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records the variables it was started with, readable by its user only', async () => {
    assert.equal((await stat(path.join(dir, 'server-env.json'))).mode & 0o777, 0o600);
  });

  it('dns from a shell without the variable prints the server host name and says where it came from', async () => {
    const r = await runCli(['dns', 'localhost', '--data', dir], { env: shell });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /MX\s+10 mail\.example\.test\./);
    assert.doesNotMatch(r.stdout, /MX\s+10 localhost\./);
    assert.match(r.stderr, /config: using FINGERPOST_SERVER_HOSTNAME from the server started \S+ \(.*server-env\.json\)/);
    assert.match(r.stderr, /warning: the records point at mail\.example\.test: \.test names do not resolve on the Internet/);
  });

  it("the shell's own variable wins and is named; localhost gets a warning in the zone too", async () => {
    const r = await runCli(['dns', 'localhost', '--data', dir], { env: { ...shell, FINGERPOST_SERVER_HOSTNAME: 'localhost' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /MX\s+10 localhost\./);
    assert.match(r.stderr, /this shell's FINGERPOST_SERVER_HOSTNAME differs from the server's and wins here/);
    assert.match(r.stdout, /^; WARNING: the records point at localhost: every sender would deliver to its own machine/m);
  });
});
