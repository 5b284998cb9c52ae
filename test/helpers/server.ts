import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config/config.ts';
import type { WaitClock } from '../../src/core/clock.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/core/log.ts';
import { ensureFirstStart, openServices, type RunningServer, type Services, startServer } from '../../src/main.ts';
import { freePorts } from './ports.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const NODE = process.execPath;
export const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');

export interface Ports {
  https: number;
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  smtp: number;
  submission: number;
  submissions: number;
  managesieve: number;
}

/** Config overrides that put every listener on a free loopback port. */
export async function portOverrides(): Promise<{ ports: Ports; overrides: Record<string, unknown> }> {
  const [https, imap, imaps, pop3, pop3s, smtp, submission, submissions, managesieve] = (await freePorts(9)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ports = { https, imap, imaps, pop3, pop3s, smtp, submission, submissions, managesieve };
  const bind = '127.0.0.1';
  return {
    ports,
    overrides: {
      http: { port: https, bind },
      imap: { port: imap, tls_port: imaps, bind },
      pop3: { port: pop3, tls_port: pop3s, bind },
      smtp: { port: smtp, bind },
      submission: { port: submission, tls_port: submissions, bind },
      managesieve: { port: managesieve, bind },
    },
  };
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur))
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = v;
  }
  return into;
}

export interface TestServer {
  readonly config: Config;
  readonly services: Services;
  readonly server: RunningServer;
  readonly ports: Ports;
  readonly dataDir: string;
  readonly caFile: string;
  readonly ca: string;
  readonly baseUrl: string;
  readonly admin: { address: string; password: string };
  close(): Promise<void>;
}

/** Starts a whole node in this process on free loopback ports with a fresh data directory. */
export async function startTestServer(
  options: {
    overrides?: Record<string, unknown>;
    domain?: string;
    dataDir?: string;
    /** Where the server's JSON log lines go (level info); default: nowhere unless FP_TEST_LOG is set. */
    logTo?: NodeJS.WritableStream;
    clock?: WaitClock;
    /** The clock ACME renewals are timed by (src/main.ts `StartOptions`). */
    renewalClock?: WaitClock;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'fp-test-')));
  const { ports, overrides } = await portOverrides();
  const config = loadConfig({
    dataDir,
    env: {},
    // MX checks ask a loopback port nothing serves (refused at once: temperror), never the
    // machine's resolver; tests that need DNS answers start test/helpers/dns-server.ts.
    overrides: merge(merge({ log: { level: 'silent' }, inbound: { dns_servers: ['127.0.0.1:9'] } }, overrides), options.overrides ?? {}),
  });
  const logger = options.logTo ? createLogger('info', options.logTo) : createLogger(process.env.FP_TEST_LOG ?? 'silent');
  const services = await openServices(config, { logger });
  const first = await ensureFirstStart(services, options.domain ?? 'example.test');
  const server = await startServer(services, undefined, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.renewalClock ? { renewalClock: options.renewalClock } : {}),
  }).catch(async (err) => {
    await services.close();
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  const caFile = server.tls.caFile ?? '';
  return {
    config,
    services,
    server,
    ports,
    dataDir,
    caFile,
    ca: caFile ? await readFile(caFile, 'utf8') : '',
    baseUrl: `https://localhost:${ports.https}`,
    admin: first.admin ?? { address: '', password: '' },
    async close() {
      await server.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs the `fingerpost` CLI (on this Node) and collects its output. */
export function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The `FINGERPOST_*` variables that put a `fingerpost serve` child on the ports of `portOverrides`. */
export function portEnv(ports: Awaited<ReturnType<typeof portOverrides>>['ports']): Record<string, string> {
  return {
    FINGERPOST_HTTP_PORT: String(ports.https),
    FINGERPOST_IMAP_PORT: String(ports.imap),
    FINGERPOST_IMAP_TLS_PORT: String(ports.imaps),
    FINGERPOST_POP3_PORT: String(ports.pop3),
    FINGERPOST_POP3_TLS_PORT: String(ports.pop3s),
    FINGERPOST_SMTP_PORT: String(ports.smtp),
    FINGERPOST_SUBMISSION_PORT: String(ports.submission),
    FINGERPOST_SUBMISSION_TLS_PORT: String(ports.submissions),
    FINGERPOST_MANAGESIEVE_PORT: String(ports.managesieve),
    FINGERPOST_LOG_LEVEL: 'warn',
  };
}
