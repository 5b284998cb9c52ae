// The README's quick start as a new user types it, on the embedded default ports (8443, 1993,
// 1587, 2525 …): `npm start`, `npx fingerpost admin user add alice@localhost`, then the client
// commands exactly as printed (`login … --ca data/tls/ca.pem`, `check`, `setup --for mutt`) and
// mutt reading the mail with the generated muttrc. The fixed ports and the repository's own
// `./data` would collide with other runs, so the test re-runs itself in a private network and
// mount and PID namespace (`unshare -rnm --pid`): its own loopback, a temporary directory mounted
// on `data/`, and nothing left running after it.
// Login runs in a pseudo-terminal (`script`), where it asks for the token passphrase as it would a
// person; Chromium plays the person on the device pages.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { commandSkip, hasCommand, peerSkip } from '../helpers/peers.ts';
import { NODE, ROOT } from '../helpers/server.ts';
import { approveDevice, CHROMIUM } from './client-support.ts';

const INSIDE = process.env.FINGERPOST_QUICKSTART_NAMESPACE === '1';
const PASSPHRASE = 'correct horse battery staple';

const skip =
  commandSkip('unshare', 'util-linux', ['--version']) ||
  commandSkip('ip', 'iproute2', ['-V']) ||
  commandSkip(CHROMIUM, 'chromium') ||
  commandSkip('mutt', 'mutt', ['-v']) ||
  commandSkip('swaks', 'swaks', ['--version']) ||
  commandSkip('script', 'bsdutils', ['--version']) ||
  peerSkip('user namespaces', INSIDE || hasCommand('unshare', ['-rn', 'true']), 'sysctl kernel.unprivileged_userns_clone=1');

/** A process whose output (stdout and stderr together, as on a terminal) can be awaited. */
interface Proc {
  readonly child: ChildProcess;
  output: string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  readonly exited: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Proc {
  // Its own process group, so that `npm start` and whatever it started can be stopped together.
  const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let waiters: Array<() => boolean> = [];
  const p: Proc = {
    child,
    output: '',
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} within ${timeoutMs} ms in:\n${p.output}`)), timeoutMs);
        const check = () => {
          const m = re.exec(p.output);
          if (!m) return false;
          clearTimeout(timer);
          resolve(m);
          return true;
        };
        if (!check()) waiters.push(check);
      });
    },
    exited: new Promise((resolve) => child.on('close', resolve)),
  };
  const add = (d: Buffer) => {
    p.output += d.toString('utf8');
    waiters = waiters.filter((w) => !w());
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return p;
}

/** Runs a shell command line as a user types it, in a pseudo-terminal, to the end. */
async function typed(line: string, env: NodeJS.ProcessEnv, input = ''): Promise<{ code: number | null; output: string }> {
  const p = start('script', ['-qec', line, '/dev/null'], env);
  p.child.stdin!.end(input);
  const timer = setTimeout(() => process.kill(-p.child.pid!, 'SIGKILL'), 120_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output };
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}

describe('README quick start, as printed, on the embedded default ports', { skip }, () => {
  if (!INSIDE) {
    it('runs in a private network and mount namespace', async () => {
      const data = await mkdtemp(path.join(os.tmpdir(), 'fp-quickstart-data-'));
      await mkdir(path.join(ROOT, 'data'), { recursive: true });
      try {
        const script = `ip link set lo up && mount --bind "$1" "$2/data" && exec "$3" --test --test-timeout=600000 "$4"`;
        const p = start(
          'unshare',
          // Its own PID namespace too: whatever the run leaves (server, token agent, browser) ends with it.
          [
            '-rnm',
            '--pid',
            '--fork',
            '--mount-proc',
            '--propagation',
            'private',
            'sh',
            '-c',
            script,
            'quickstart',
            data,
            ROOT,
            NODE,
            import.meta.filename,
          ],
          // Not NODE_TEST_CONTEXT: the inner run reports to this process as text, not to its runner.
          { ...withoutTestContext(process.env), FINGERPOST_QUICKSTART_NAMESPACE: '1' },
        );
        p.child.stdin!.end();
        const code = await p.exited;
        assert.equal(code, 0, p.output);
      } finally {
        await rm(data, { recursive: true, force: true });
      }
    });
    return;
  }

  let home: string;
  let env: NodeJS.ProcessEnv;
  let server: Proc;
  let browser: Browser;

  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'fp-quickstart-home-'));
    const runtime = path.join(home, 'run');
    await mkdir(runtime, { mode: 0o700 });
    // A fresh user on a headless machine: no desktop, no keyring, no FINGERPOST_* variables.
    env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime, TERM: 'xterm', LANG: 'C.UTF-8' };
    server = start('npm', ['start'], env);
    await server.waitFor(/Try it:/, 120_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--ignore-certificate-errors'],
    });
  });
  after(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      process.kill(-server.child.pid!, 'SIGTERM');
      await server.exited;
    }
    await typed('npx fingerpost agent stop', env);
    await rm(home, { recursive: true, force: true });
  });

  it('prints the first-start banner on 8443 with the local CA', () => {
    assert.match(server.output, /https\s+https:\/\/localhost:8443\//);
    assert.match(server.output, /clients should trust .*data\/tls\/ca\.pem/);
    assert.doesNotMatch(server.output, /EBADENGINE/);
  });

  let muttrc: string;

  it('login, check, setup and mutt, as printed', async () => {
    const add = await typed('npx fingerpost admin user add alice@localhost', env);
    assert.equal(add.code, 0, add.output);
    assert.doesNotMatch(add.output, /EBADENGINE/, 'npx prints no engine warnings');

    // login: the passphrase for the token file is asked on the terminal, then the device flow.
    const login = start('script', ['-qec', 'npx fingerpost login alice@localhost --ca data/tls/ca.pem', '/dev/null'], env);
    await login.waitFor(/Passphrase for the token file/);
    login.child.stdin!.write(`${PASSPHRASE}\r`);
    await login.waitFor(/Repeat the passphrase/);
    login.child.stdin!.write(`${PASSPHRASE}\r`);
    const m = await login.waitFor(/open (https:\S+) and enter the code (\S+)/);
    const page = await browser.newPage();
    const password = /password:\s+(\S+)/.exec(add.output)?.[1];
    assert.ok(password, add.output);
    try {
      await approveDevice(page, m[1]!, m[2]!, 'alice@localhost', password);
    } finally {
      await page.close();
    }
    login.child.stdin!.end();
    assert.equal(await login.exited, 0, login.output);
    assert.match(login.output, /Signed in alice@localhost/);
    assert.match(login.output, /embedded default port 8443/);

    const check = await typed('npx fingerpost check alice@localhost --ca data/tls/ca.pem', env);
    assert.equal(check.code, 0, check.output);
    for (const service of ['imap', 'pop3', 'smtp', 'jmap']) assert.match(check.output, new RegExp(`ok\\s+${service}\\b`), check.output);

    const setup = start('sh', ['-c', 'npx fingerpost setup alice@localhost --for mutt'], env);
    setup.child.stdin!.end();
    const setupCode = await setup.exited;
    assert.equal(setupCode, 0, setup.output);
    assert.doesNotMatch(setup.output, /--ca /, 'token trusts the CA that login was given');
    assert.match(setup.output, /fingerpost agent unlock alice@localhost/, 'the snippet says how the passphrase stays unlocked');
    muttrc = path.join(home, '.muttrc');
    const snippet = setup.output.split('\n').filter((l) => !/^fingerpost:|EBADENGINE|^npm warn/.test(l));
    // The snippet as printed, and what mutt's batch use needs besides (no caches, no prompts).
    await writeFile(
      muttrc,
      `${snippet.join('\n')}\nset record = ""\nset quit = yes\nset wait_key = no\nset header_cache = ""\nset message_cachedir = ""\n`,
    );
  });

  it('mutt reads mail delivered to alice over SMTP, with tokens from fingerpost token', async () => {
    const subject = `Quick start ${Date.now()}`;
    const sent = await typed(
      `swaks --server 127.0.0.1:2525 --from bob@example.test --to alice@localhost --header 'Subject: ${subject}' --body 'Hello Alice.' -tls`,
      env,
    );
    assert.equal(sent.code, 0, sent.output);
    const out = path.join(home, 'inbox.txt');
    await writeFile(out, '');
    const push = `push "<tag-pattern>~A<enter><tag-prefix><pipe-message>cat >> ${out}<enter><quit>"`;
    let inbox = '';
    for (let i = 0; i < 10 && !inbox.includes(subject); i++) {
      const r = await typed(`mutt -F ${muttrc} -e '${push}'`, env);
      inbox = await readFile(out, 'utf8');
      assert.doesNotMatch(r.output, /Passphrase|fingerpost:/, 'mutt is not asked for a passphrase and fingerpost token does not fail');
    }
    assert.ok(inbox.includes(`Subject: ${subject}`), `mutt read the message:\n${inbox.slice(0, 2000)}`);
  });
});
