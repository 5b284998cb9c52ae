// A real rspamd (Debian `rspamd`) started by a test on loopback ports with a minimal configuration
// in a temporary directory: its own DNS server (the loopback test DNS, so no lookup leaves the
// machine), a short TLD list (the full one takes minutes to compile), no Redis-backed modules.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.ts';

export const hasRspamd = spawnSync('rspamd', ['--version'], { stdio: 'ignore' }).status === 0;

export interface TestRspamd {
  /** The normal worker (`/checkv2`). */
  readonly url: string;
  /** The controller (`/learnspam`, `/learnham`, `/stat`). */
  readonly controllerUrl: string;
  readonly password: string;
  close(): Promise<void>;
}

export interface RspamdActions {
  readonly reject?: number;
  readonly addHeader?: number;
}

export async function startRspamd(options: { dnsServer: string; actions?: RspamdActions }): Promise<TestRspamd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-rspamd-'));
  const [normal, controller] = (await freePorts(2)) as [number, number];
  const password = 'test-controller-secret';
  await writeFile(path.join(dir, 'tld.dat'), 'com\norg\nnet\ntest\nexample\n');
  const actions = options.actions ?? {};
  await writeFile(
    path.join(dir, 'rspamd.conf'),
    `lua = "$RULESDIR/rspamd.lua"
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/groups.conf"
actions {
  reject = ${actions.reject ?? 15};
  add_header = ${actions.addHeader ?? 6};
}
modules { path = "\${PLUGINSDIR}"; }
options {
  pidfile = "${dir}/rspamd.pid";
  url_tld = "${dir}/tld.dat";
  dns { nameserver = ["${options.dnsServer}"]; timeout = 1s; retransmits = 1; }
}
logging { type = "file"; filename = "${dir}/rspamd.log"; level = "warning"; }
worker "normal" { bind_socket = "127.0.0.1:${normal}"; count = 1; task_timeout = 8s; }
worker "controller" { bind_socket = "127.0.0.1:${controller}"; count = 1; password = "${password}"; enable_password = "${password}"; }
`,
  );
  const args = ['-f', '-c', path.join(dir, 'rspamd.conf')];
  for (const v of ['DBDIR', 'RUNDIR', 'LOGDIR', 'LOCAL_CONFDIR']) args.push(`--var=${v}=${dir}`);
  // As root (CI), rspamd wants to be told that its workers may keep root's rights.
  if (process.getuid?.() === 0) args.push('-i');
  const child: ChildProcess = spawn('rspamd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${normal}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rspamd exited (${child.exitCode}):\n${output.slice(-2000)}`);
    const pong = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.text())
      .catch(() => '');
    if (pong.trim() === 'pong') break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rspamd did not answer /ping within 60 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    controllerUrl: `http://127.0.0.1:${controller}`,
    password,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
