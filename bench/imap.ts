// IMAP sessions per second against Dovecot on the same machine, with the shared load generator
// (../shared/bench/imap-load.mjs through bench-matrix.mjs, targets interleaved run by run):
// login + SELECT + FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE) on a 1,000-message INBOX and
// login-only, PLAIN and OAUTHBEARER, concurrency 1, 8 and 32; then the memory of idle IDLE
// connections (bench/imap-idle.ts). Prints the matrix summary with the Fingerpost/Dovecot ratios.
//
//   ./node_modules/.bin/node bench/imap.ts [--work /tmp/fp-imap-bench] [--reps 3] [--seconds 8] [--warmup 2]
//       [--conc 1,8,32] [--mechs PLAIN,OAUTHBEARER] [--fetch '1:*,none'] [--idle 5000] [--no-dovecot] [--no-matrix]
//       [--workers 1,2] [--quiet-wait 60]
//
// `--workers 1,2` runs one Fingerpost per count (`serve --workers N`, each on a copy of the same
// data directory and its own ports) as targets of the same interleaved matrix: the summary gives
// each against the first target (Dovecot, or the first worker count with --no-dovecot).
//
// Needs root and `apt-get install dovecot-imapd dovecot-pop3d dovecot-submissiond` for the Dovecot
// target (../shared/bench/dovecot/README.md). Both servers get the same TLS certificate, the same
// JWT key (trusted by Fingerpost as an issuer through a local JWKS file) and the same messages.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/log.ts';
import { openServices } from '../src/main.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
// ../shared beside the repository, or beside the folder of worktrees (a worktree in wt/NAME).
const SHARED = [path.resolve(ROOT, '..', 'shared', 'bench'), path.resolve(ROOT, '..', '..', 'shared', 'bench')].find((d) => existsSync(d))!;
const USER = 'user1@example.test';
const PASSWORD = 'bench-password-1';
// Away from the ports the shared README suggests, so nobody else's load lands on this server.
const PORTS = { imap: 21143, imaps: 21993, https: 28443 };

const { values: args } = parseArgs({
  options: {
    work: { type: 'string', default: '/tmp/fp-imap-bench' },
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    conc: { type: 'string', default: '1,8,32' },
    mechs: { type: 'string', default: 'PLAIN,OAUTHBEARER' },
    fetch: { type: 'string', default: '1:*,none' },
    idle: { type: 'string', default: '5000' },
    'no-dovecot': { type: 'boolean', default: false },
    'no-matrix': { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    'quiet-wait': { type: 'string', default: '60' },
  },
});
const WORK = path.resolve(args.work!);
const FP = path.join(WORK, 'fingerpost');

function log(line: string): void {
  process.stderr.write(`bench/imap: ${line}\n`);
}

/** Starts the private Dovecot instance; returns the path of its master pid file. */
async function startDovecot(): Promise<string> {
  const r = await run('bash', [path.join(SHARED, 'dovecot', 'start.sh'), WORK], { env: { ...process.env, WORKDIR: WORK } });
  log(`dovecot ${r.stdout.trim()} ${r.stderr.trim()}`);
  return path.join(WORK, 'dovecot', 'run', 'master.pid');
}

async function stopDovecot(): Promise<void> {
  await run('bash', [path.join(SHARED, 'dovecot', 'stop.sh'), WORK]).catch((err) => log(`dovecot stop: ${(err as Error).message}`));
}

/** A Fingerpost data directory with the bench certificate, the loadgen's JWT issuer and user1's 1,000 messages. */
async function prepareFingerpost(): Promise<void> {
  await rm(FP, { recursive: true, force: true });
  await mkdir(FP, { recursive: true });
  const pub = createPublicKey(await readFile(path.join(WORK, 'keys', 'jwt-es256.pub')));
  const jwk = { ...pub.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
  await writeFile(path.join(FP, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const toml = `
[server]
hostname = "localhost"
[tls]
cert = "${WORK}/keys/tls-cert.pem"
key = "${WORK}/keys/tls-key.pem"
[http]
bind = "127.0.0.1"
port = ${PORTS.https}
[imap]
bind = "127.0.0.1"
port = ${PORTS.imap}
tls_port = ${PORTS.imaps}
[pop3]
enabled = false
[smtp]
enabled = false
[submission]
enabled = false
[managesieve]
enabled = false
[limits]
connections_total = 20000
connections_per_ip = 20000
[auth]
hostnames = ["127.0.0.1"]
[[auth.issuers]]
issuer = "https://idp.bench.test"
jwks_file = "${FP}/jwks.json"
audiences = ["imap"]
require_at_jwt = false
# the load generator's tokens carry no client_id (as Dovecot's oauth2 JWT checks never ask)
require_rfc9068_claims = false
mail_scopes = ["mail"]
claim = "email"
[log]
level = "warn"
`;
  await writeFile(path.join(FP, 'fingerpost.toml'), toml);
  const config = loadConfig({ file: path.join(FP, 'fingerpost.toml'), dataDir: FP, env: {} });
  const services = await openServices(config, { logger: createLogger('warn') });
  try {
    await services.accounts.addDomain('example.test');
    const { account } = await services.accounts.addUser({ address: USER, password: PASSWORD });
    const cur = path.join(WORK, 'mail', 'example.test', 'user1', 'Maildir', 'cur');
    const files = (await readdir(cur)).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b));
    for (const f of files) {
      const raw = await readFile(path.join(cur, f));
      // Maildir files use LF; IMAP serves CRLF, as SMTP delivery stores it.
      await services.mail.deliver(account.id, Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    }
    log(`fingerpost: ${files.length} messages in ${USER}'s INBOX`);
  } finally {
    await services.close();
  }
}

/** A copy of the prepared data directory for another target, on ports shifted by `shift`. */
async function copyFingerpost(shift: number): Promise<{ dir: string; imaps: number }> {
  const dir = `${FP}-${shift}`;
  await rm(dir, { recursive: true, force: true });
  await run('cp', ['-a', FP, dir]);
  const toml = (await readFile(path.join(FP, 'fingerpost.toml'), 'utf8'))
    .replace(`port = ${PORTS.https}`, `port = ${PORTS.https + shift}`)
    .replace(`port = ${PORTS.imap}`, `port = ${PORTS.imap + shift}`)
    .replace(`tls_port = ${PORTS.imaps}`, `tls_port = ${PORTS.imaps + shift}`);
  await writeFile(path.join(dir, 'fingerpost.toml'), toml);
  return { dir, imaps: PORTS.imaps + shift };
}

/** Starts `fingerpost serve` (with `workers` processes) on a prepared data directory; resolves with its pid once it listens. */
async function startFingerpost(dir = FP, workers = 1): Promise<{ pid: number; stop: () => Promise<void> }> {
  const cli = [path.join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--data', dir, '--workers', String(workers)];
  const child = spawn(process.execPath, cli, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FINGERPOST_CONFIG: path.join(dir, 'fingerpost.toml') },
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fingerpost did not start:\n${err}`)), 240_000);
    child.stderr!.on('data', () => {
      if (err.includes('Fingerpost is running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`fingerpost exited ${code}:\n${err}`)));
  });
  return {
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function node(script: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ch = spawn(process.execPath, [script, ...argv], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, WORKDIR: WORK },
    });
    ch.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited ${code}`))));
  });
}

const useDovecot = !args['no-dovecot'];
const pidfile = useDovecot ? await startDovecot() : null;
let fingerpost: Awaited<ReturnType<typeof startFingerpost>> | undefined;
const others: Array<Awaited<ReturnType<typeof startFingerpost>>> = [];
const workerCounts = args.workers!.split(',').map(Number);
try {
  await prepareFingerpost();
  const copies = await Promise.all(workerCounts.slice(1).map((_, i) => copyFingerpost(100 * (i + 1))));
  fingerpost = await startFingerpost(FP, workerCounts[0]);
  log(`fingerpost pid ${fingerpost.pid}, imaps 127.0.0.1:${PORTS.imaps}, ${workerCounts[0]} worker(s)`);
  const extra: string[] = [];
  for (const [i, copy] of copies.entries()) {
    const n = workerCounts[i + 1]!;
    const started = await startFingerpost(copy.dir, n);
    others.push(started);
    log(`fingerpost pid ${started.pid}, imaps 127.0.0.1:${copy.imaps}, ${n} workers`);
    extra.push('--target', `name=fingerpost-w${n},port=${copy.imaps},pid=${started.pid}`);
  }
  if (!args['no-matrix']) {
    const out = path.join(WORK, 'results', new Date().toISOString().replace(/[:.]/g, '-'));
    const first = workerCounts.length > 1 ? `fingerpost-w${workerCounts[0]}` : 'fingerpost';
    const targets = [
      ...(pidfile ? ['--target', `name=dovecot,port=10993,pidfile=${pidfile}`] : []),
      '--target',
      `name=${first},port=${PORTS.imaps},pid=${fingerpost.pid}`,
      ...extra,
    ];
    await node(path.join(SHARED, 'bench-matrix.mjs'), [
      '--out',
      out,
      ...targets,
      '--mechs',
      args.mechs!,
      '--conc',
      args.conc!,
      '--fetch',
      args.fetch!,
      '--reps',
      args.reps!,
      '--seconds',
      args.seconds!,
      '--warmup',
      args.warmup!,
      '--keyfile',
      path.join(WORK, 'keys', 'jwt-es256.key'),
      '--quiet-wait',
      args['quiet-wait']!,
    ]);
    log(`matrix written to ${out}/summary.md`);
  }
  if (Number(args.idle) > 0) {
    const idle = path.join(ROOT, 'bench', 'imap-idle.ts');
    await node(idle, [
      '--port',
      String(PORTS.imaps),
      '--pid',
      String(fingerpost.pid),
      '--connections',
      args.idle!,
      '--label',
      'fingerpost',
    ]);
    if (pidfile) {
      const pid = (await readFile(pidfile, 'utf8')).trim();
      // The shared "perf" profile runs one imap process per session with process_limit = 1024, so
      // Dovecot is measured with at most 1,000 idle sessions; more would just wait for a process.
      const n = String(Math.min(Number(args.idle), 1000));
      await node(idle, ['--port', '10993', '--pid', pid, '--connections', n, '--label', 'dovecot']);
    }
  }
} finally {
  await Promise.all(others.map((o) => o.stop()));
  await fingerpost?.stop();
  if (useDovecot) await stopDovecot();
}
