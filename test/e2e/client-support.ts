// Shared pieces of the client helper's end-to-end tests (test/e2e/client-*.test.ts): a server with
// a user, the `fingerpost` CLI run as a child with its own XDG directory, and headless Chromium
// playing the person on the embedded provider's pages.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium as launchPinned } from '../helpers/chromium.ts';
import { NODE, ROOT, startTestServer, type TestServer } from '../helpers/server.ts';

export { CHROMIUM };
export const PASSWORD = 'client helper password';
/** The launcher users run (`fingerpost` on PATH): it starts `token` without the server code. */
export const LAUNCHER = path.join(ROOT, 'bin', 'fingerpost.js');

/** A server on domain `localhost` (so its certificate fits every URL the client sees) with `users`. */
export async function clientTestServer(users: string[], overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const server = await startTestServer({ domain: 'localhost', overrides });
  for (const address of users) await server.services.accounts.addUser({ address, password: PASSWORD, displayName: address.split('@')[0]! });
  return server;
}

/** A fresh XDG config directory and the environment a client process runs with. */
export async function clientHome(server: TestServer): Promise<{ dir: string; env: Record<string, string>; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-client-'));
  return {
    dir,
    env: {
      XDG_CONFIG_HOME: dir,
      HOME: dir,
      NODE_EXTRA_CA_CERTS: server.caFile,
      DISPLAY: '',
      WAYLAND_DISPLAY: '',
      FINGERPOST_PASSPHRASE: '',
      // No token agent outliving the test (test/e2e/readme-quickstart.test.ts runs with one).
      FINGERPOST_AGENT: 'off',
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `--connect-to` for discovery: WebFinger for `@localhost` goes to the test server's port. */
export function connectTo(server: TestServer): string[] {
  return ['--connect-to', `localhost=127.0.0.1:${server.ports.https}`];
}

/** A running `fingerpost` child whose stderr can be awaited line by line. */
export interface CliChild {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the first match of `re` in stderr. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Every file under the client's XDG directory with its content (to show a failure changed nothing). */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const full = path.join(d, n);
      if ((await stat(full)).isDirectory()) await walk(full);
      else out[path.relative(dir, full)] = await readFile(full, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

export function spawnCli(args: string[], env: Record<string, string>, input?: string): CliChild {
  const child = spawn(NODE, [LAUNCHER, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let waiters: Array<() => boolean> = [];
  const c: CliChild = {
    child,
    stdout: '',
    stderr: '',
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in stderr within ${timeoutMs} ms:\n${c.stderr}`)), timeoutMs);
        const check = () => {
          const m = re.exec(c.stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m);
            return true;
          }
          return false;
        };
        if (!check()) waiters.push(check);
      });
    },
    exited: new Promise((resolve) => child.on('close', resolve)),
  };
  child.stdout!.on('data', (d) => (c.stdout += d));
  child.stderr!.on('data', (d) => {
    c.stderr += d;
    waiters = waiters.filter((w) => !w());
  });
  if (input !== undefined) child.stdin!.end(input);
  return c;
}

/** Headless Chromium trusting the test server's certificate. */
export function launchChromium(server: TestServer): Promise<Browser> {
  return launchPinned(server.dataDir);
}

/** On the provider's pages: signs in as `user` and allows the consent. */
export async function signInAndAllow(page: Page, user: string, password = PASSWORD): Promise<void> {
  await page.waitForSelector('input[name=email]');
  await page.fill('input[name=email]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/interaction\//), page.click('button.primary')]);
  await page.waitForSelector('text=Allow access?');
  await page.click('button.primary');
}

/** The device pages: enter the user code, confirm, then sign in and allow. */
export async function approveDevice(
  page: Page,
  verificationUri: string,
  userCode: string,
  user: string,
  password = PASSWORD,
): Promise<void> {
  await page.goto(verificationUri);
  await page.waitForSelector('input[name=user_code]');
  await page.fill('input[name=user_code]', userCode);
  await Promise.all([page.waitForLoadState(), page.click('button.primary')]);
  await page.waitForSelector('button.primary');
  await Promise.all([page.waitForLoadState(), page.click('button.primary')]);
  await signInAndAllow(page, user, password);
}

/** `fingerpost login ADDRESS --flow device`, the person played by Chromium on the device pages. */
export async function deviceLogin(
  server: TestServer,
  browser: Browser,
  address: string,
  env: Record<string, string>,
  extra: string[] = [],
): Promise<{ code: number | null; stderr: string }> {
  const c = spawnCli(['login', address, '--flow', 'device', '--scrypt-work-factor', '12', ...connectTo(server), ...extra], env);
  const m = await c.waitFor(/open (https:\S+) and enter the code (\S+)/);
  const page = await browser.newPage();
  try {
    await approveDevice(page, m[1]!, m[2]!, address);
    return { code: await c.exited, stderr: c.stderr };
  } finally {
    await page.close();
  }
}

/** Runs a program without blocking the event loop (the test server lives in this process). */
export function runAsync(
  file: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}
