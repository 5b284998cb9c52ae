// `fingerpost token` wall time, as a mail client pays it on every connection: a signed-in account
// in an age-sealed store (scrypt work factor 18, the default), a cached access token (no refresh),
// `fingerpost token EMAIL --service imap` run as a child N times; median and p90 printed for
//   1. the token agent holding the passphrase (the default after `login`), via Node 24 directly
//      (what `fingerpost setup` writes when run from a checkout),
//   2. the same through the launcher started by the system `node` (it re-executes Node 24),
//   3. no agent, passphrase from FINGERPOST_PASSPHRASE (scrypt on every call).
// Target for 1: <= 100 ms median on a quiet machine.
// With --baseline DIR (a checkout of another commit, e.g. `git worktree add /tmp/old <commit>`
// plus its node_modules), case 1 also runs that checkout's launcher, the two taking turns, and
// the ratio this/baseline of the medians is printed (the ratio stays meaningful on a busy machine).
//
// --profile-dir DIR writes a V8 CPU profile of each call of case 1 there; --only-agent runs case 1 only;
// --setup-only prints the environment of a signed-in account with its agent running and leaves both
// (for farm-bench; `fingerpost agent stop` with that environment ends the agent).
//
//   ./node_modules/.bin/node bench/token.ts [--runs 30] [--baseline DIR] [--profile-dir DIR] [--only-agent]
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentStop } from '../src/client/agent/client.ts';
import { ACCOUNT_FORMAT, type AccountFile } from '../src/client/store/account.ts';
import { clientPaths } from '../src/client/store/paths.ts';
import { TokenStore } from '../src/client/store/token-store.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    baseline: { type: 'string' },
    'profile-dir': { type: 'string' },
    'only-agent': { type: 'boolean' },
    'setup-only': { type: 'boolean' },
  },
});
const RUNS = Math.max(3, Number(args.runs) || 30);
const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'bin', 'fingerpost.js');
const ADDRESS = 'alice@example.test';
const PASSPHRASE = 'a benchmark passphrase';

const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-token-'));
const runtime = path.join(dir, 'run');
await mkdir(runtime, { mode: 0o700 });
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_RUNTIME_DIR: runtime };

const issuer = 'https://mail.example.test/oidc';
const account: AccountFile = {
  format: ACCOUNT_FORMAT,
  version: 1,
  address: ADDRESS,
  issuer,
  metadata: { issuer, token_endpoint: `${issuer}/token` },
  clientId: 'bench',
  clientAuth: 'none',
  scopes: ['urn:ietf:params:oauth:scope:mail', 'offline_access'],
  resources: ['imap://mail.example.test'],
  services: [
    {
      protocol: 'imap',
      host: 'mail.example.test',
      port: 993,
      tls: 'implicit',
      auth: ['OAUTHBEARER'],
      resource: 'imap://mail.example.test',
    },
  ],
  sasl: 'OAUTHBEARER',
  store: { kind: 'age', workFactor: 18, reason: 'benchmark' },
  createdAt: Date.now(),
  sealed: '',
};

// Sign-in as `login` leaves it: sealed with the passphrase, which the agent now holds.
const store = new TokenStore({ paths: clientPaths(env), env, prompt: async () => PASSPHRASE });
await store.prepare(account);
await store.save(account, {
  refreshToken: 'rt',
  tokens: { 'imap://mail.example.test': { token: 'bench-access-token', expiresAt: Date.now() + 24 * 3600_000, obtainedAt: Date.now() } },
});

// GNU time, when installed, also gives the CPU time (user + sys) of each call: on a busy machine
// the wall time mostly measures waiting for a CPU, the CPU time what a quiet machine would take.
const GNU_TIME = spawnSync('/usr/bin/time', ['-f', '%U', 'true'], { encoding: 'utf8' }).status === 0 ? '/usr/bin/time' : undefined;

function once(file: string, argv: string[], e: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number | undefined }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = GNU_TIME
      ? spawn(GNU_TIME, ['-f', 'cpu %U %S', file, ...argv], { env: e, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(file, argv, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0 || out.trim() !== 'bench-access-token') return reject(new Error(`token failed (${code}): ${err}`));
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
      resolve({ wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined });
    });
  });
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

function report(label: string, walls: number[], cpus: number[]): void {
  const cpu = cpus.length ? `   cpu median ${q(cpus, 0.5).toFixed(0).padStart(4)} ms` : '';
  console.log(
    `${label.padEnd(58)} median ${q(walls, 0.5).toFixed(0).padStart(5)} ms   p90 ${q(walls, 0.9).toFixed(0).padStart(5)} ms${cpu}   (${walls.length} runs)`,
  );
}

/** Runs each command `runs` times, taking turns (A B A B …), after one warm-up run each. */
async function measure(cases: { label: string; file: string; argv: string[]; env: NodeJS.ProcessEnv }[], runs = RUNS): Promise<void> {
  for (const c of cases) await once(c.file, c.argv, c.env); // warm the file and compile caches
  const walls = cases.map(() => [] as number[]);
  const cpus = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++)
    for (const [k, c] of cases.entries()) {
      const r = await once(c.file, c.argv, c.env);
      walls[k]!.push(r.wall);
      if (r.cpu !== undefined) cpus[k]!.push(r.cpu);
    }
  for (const [k, c] of cases.entries()) report(c.label, walls[k]!, cpus[k]!);
  if (cases.length === 2) {
    const ratio = (xs: number[][]) => (xs[0]!.length && xs[1]!.length ? (q(xs[0]!, 0.5) / q(xs[1]!, 0.5)).toFixed(2) : '-');
    console.log(`${'this / baseline'.padEnd(58)} wall ${ratio(walls)}   cpu ${ratio(cpus)}`);
  }
}

const tokenArgs = ['token', ADDRESS, '--service', 'imap'];
if (args['setup-only']) {
  console.log(
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  );
  process.exit(0);
}
const load = os.loadavg()[0]!.toFixed(2);
console.log(`fingerpost token, ${os.cpus().length} CPUs, load average ${load} (the target assumes a quiet machine)`);
try {
  await measure([
    {
      label: 'agent holds the key, Node 24 + bin/fingerpost.js',
      file: process.execPath,
      argv: [LAUNCHER, ...tokenArgs],
      env: args['profile-dir'] ? { ...env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(args['profile-dir'])}` } : env,
    },
    ...(args.baseline
      ? [
          {
            label: `  the same, baseline ${args.baseline}`,
            file: process.execPath,
            argv: [path.join(path.resolve(args.baseline), 'bin', 'fingerpost.js'), ...tokenArgs],
            env,
          },
        ]
      : []),
  ]);
  if (args['only-agent']) process.exit(0);
  const systemNode = spawnSync('/bin/sh', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim();
  if (systemNode && systemNode !== process.execPath)
    await measure([
      {
        label: `agent holds the key, launcher on the system node (${process.version === spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim() ? 'same' : 're-exec'})`,
        file: systemNode,
        argv: [LAUNCHER, ...tokenArgs],
        env,
      },
    ]);
  await measure(
    [
      {
        label: 'no agent, FINGERPOST_PASSPHRASE (scrypt N=2^18 every call)',
        file: process.execPath,
        argv: [LAUNCHER, ...tokenArgs],
        env: { ...env, FINGERPOST_AGENT: 'off', FINGERPOST_PASSPHRASE: PASSPHRASE },
      },
    ],
    Math.min(RUNS, 10),
  );
} finally {
  await agentStop(env);
  await rm(dir, { recursive: true, force: true });
}
