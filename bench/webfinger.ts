// WebFinger throughput: requests per second for `GET /.well-known/webfinger?resource=acct:…` on a
// real `fingerpost serve` child (privacy mode, the default), next to a bare Node HTTPS server in
// another child answering a constant JSON of the same size with the same certificate: the
// practical ceiling on this machine. Keep-alive connections, concurrency 32, the same load loop
// (node:https with a keep-alive agent) for both, interleaved in one-second slices so a busy
// machine's swings hit both alike. `--profile-dir` writes the server's V8 CPU profile there, and
// the bare server's in its bare/ folder.
//
//   ./node_modules/.bin/node bench/webfinger.ts [--seconds 10] [--concurrency 32] [--privacy off] [--profile-dir DIR]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '../test/helpers/ports.ts';
import { spawnServe } from '../test/helpers/process.ts';
import { portOverrides, runCli } from '../test/helpers/server.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    privacy: { type: 'string', default: 'on' },
    'profile-dir': { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Server CPU seconds spent during the recorded slices. */
  cpu: number;
}

/** CPU seconds (user + system) used so far by process `pid` and its children (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const ticks = (p: number): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {}
  return (ticks(pid) + children.reduce((sum, c) => sum + ticks(c), 0)) / 100;
}

/** A keep-alive client for one server: its agent and one request. */
function client(port: number, ca: string, pathAndQuery: string) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca, servername: 'localhost' });
  const one = () =>
    new Promise<number>((resolve) => {
      const req = https.get({ host: '127.0.0.1', port, path: pathAndQuery, agent, headers: { host: 'localhost' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
  return { agent, one, result: { requests: 0, errors: 0, seconds: 0, p50: 0, p99: 0, cpu: 0 } as Result, latencies: [] as number[] };
}
type Client = ReturnType<typeof client>;

/** Runs CONCURRENCY request loops for `seconds`, adding 200s and latencies to the client's result. */
async function load(c: Client, seconds: number, record = true, pid?: number): Promise<void> {
  const start = process.hrtime.bigint();
  const cpuBefore = cpuSeconds(pid);
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const t = process.hrtime.bigint();
        const status = await c.one();
        if (!record) continue;
        c.latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (status === 200) c.result.requests++;
        else c.result.errors++;
      }
    }),
  );
  if (record) {
    c.result.seconds += Number(process.hrtime.bigint() - start) / 1e9;
    c.result.cpu += cpuSeconds(pid) - cpuBefore;
  }
}

function finish(c: Client): Result {
  c.agent.destroy();
  c.latencies.sort((a, b) => a - b);
  const q = (p: number) => c.latencies[Math.min(c.latencies.length - 1, Math.floor(p * c.latencies.length))] ?? 0;
  return { ...c.result, p50: q(0.5), p99: q(0.99) };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-wf-'));
const { ports } = await portOverrides();
const [barePort] = await freePorts(1);
await writeFile(
  path.join(dataDir, 'fingerpost.toml'),
  [
    '[server]\nhostname = "localhost"',
    `[http]\nport = ${ports.https}\nbind = "127.0.0.1"`,
    `[imap]\nport = ${ports.imap}\ntls_port = ${ports.imaps}\nbind = "127.0.0.1"`,
    `[pop3]\nport = ${ports.pop3}\ntls_port = ${ports.pop3s}\nbind = "127.0.0.1"`,
    `[submission]\nport = ${ports.submission}\ntls_port = ${ports.submissions}\nbind = "127.0.0.1"`,
    `[smtp]\nport = ${ports.smtp}\nbind = "127.0.0.1"`,
    `[managesieve]\nport = ${ports.managesieve}\nbind = "127.0.0.1"`,
    '[log]\nlevel = "warn"',
    // the benchmark client is one address: lift the per-IP limit out of the way
    `[discovery]\nrate_limit = 100000000\nprivacy = ${args.privacy !== 'off'}`,
    '',
  ].join('\n'),
);
const profileDir = args['profile-dir'];
const server = await spawnServe(
  ['--data', dataDir, '--domain', 'example.test'],
  profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(profileDir)}` } : {},
  // a loaded machine starts the server slowly
  180_000,
);
let bare: ReturnType<typeof spawn> | undefined;
try {
  if (server.child.exitCode !== null) throw new Error(`fingerpost serve exited:\n${server.stderr}`);
  if (args.privacy === 'off') {
    const r = await runCli(['admin', 'user', 'add', 'alice@example.test', '--data', dataDir]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
  const query = '/.well-known/webfinger?resource=acct%3Aalice%40example.test';
  // the bare server answers the same bytes fingerpost answers
  const sample = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: ports.https, path: query, ca, servername: 'localhost', headers: { host: 'localhost' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`webfinger answered ${res.statusCode}: ${body}`))));
      })
      .on('error', reject);
  });
  const bareCode = `
    const https = require('node:https'); const fs = require('node:fs');
    const body = ${JSON.stringify(sample)};
    https.createServer({ cert: fs.readFileSync(${JSON.stringify(path.join(dataDir, 'tls', 'server.pem'))}), key: fs.readFileSync(${JSON.stringify(path.join(dataDir, 'tls', 'server.key'))}), keepAliveTimeout: 65000 },
      (req, res) => { res.writeHead(200, { 'content-type': 'application/jrd+json', 'access-control-allow-origin': '*' }); res.end(body); })
      .listen(${barePort}, '127.0.0.1', () => process.stdout.write('ready\\n'));
    process.on('SIGINT', () => process.exit(0));`;
  bare = spawn(
    process.execPath,
    [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir, 'bare')}`] : []), '-e', bareCode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) => bare!.stdout!.once('data', () => resolve()));

  const fpClient = client(ports.https, ca, query);
  const bareClient = client(barePort!, ca, query);
  // warm-up: open the connections and let the JIT settle
  await load(fpClient, 1.5, false);
  await load(bareClient, 1.5, false);
  for (let slice = 0; slice < SECONDS; slice++) {
    await load(fpClient, 1, true, server.child.pid);
    await load(bareClient, 1, true, bare.pid);
  }
  const fp = finish(fpClient);
  const ceiling = finish(bareClient);
  const rps = (r: Result) => r.requests / r.seconds;
  const line = (name: string, r: Result) =>
    `${name.padEnd(26)} ${rps(r).toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   server CPU ${cpuPer(r).toFixed(0)} µs/req   errors ${r.errors}`;
  const cpuPer = (r: Result) => (1e6 * r.cpu) / Math.max(1, r.requests);
  process.stdout.write(
    `WebFinger, keep-alive, concurrency ${CONCURRENCY}, ${SECONDS} s each, ${os.cpus().length} CPUs, privacy ${args.privacy}\n`,
  );
  process.stdout.write(`${line('fingerpost webfinger', fp)}\n${line('bare node https (ceiling)', ceiling)}\n`);
  process.stdout.write(`ratio: ${((100 * rps(fp)) / rps(ceiling)).toFixed(0)}% of the bare server\n`);
  // Under load the requests/s of both swing with the machine; CPU per request is steadier.
  process.stdout.write(`CPU per request: ${(cpuPer(fp) / cpuPer(ceiling)).toFixed(2)}x the bare server's\n`);
} finally {
  // SIGINT lets the bare server's --cpu-prof write its profile before it exits.
  bare?.kill(profileDir ? 'SIGINT' : 'SIGTERM');
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
