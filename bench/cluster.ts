// Several nodes on one PostgreSQL behind HAProxy (test/helpers/haproxy-cluster.ts: three
// `fingerpost serve` processes, blobs in the database, PROXY v2): messages per second accepted
// over submissions (AUTH once per connection, connections reused, 10 KB, 250 after durable
// delivery) and IMAP sessions per second (TLS + AUTHENTICATE PLAIN + SELECT + FETCH 1:* of a
// 100-message INBOX + LOGOUT, ../shared/bench/imap-load.mjs) through HAProxy with 3, 2 and 1
// nodes up (nodes are stopped one by one; HAProxy's health check takes them out). Then the time
// of `fingerpost backup` and `fingerpost restore` (into an empty database) of the store with
// --backup-messages messages. Prints the figures and the ratios to one node.
//
//   ./node_modules/.bin/node bench/cluster.ts [--seconds 10] [--concurrency 8] [--imap-concurrency 16]
//       [--size 10240] [--backup-messages 10000]
//
// Needs PostgreSQL (FINGERPOST_TEST_PG, as the tests), haproxy, pg_dump/pg_restore and openssl.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/log.ts';
import { openServices } from '../src/main.ts';
import { HaproxyCluster } from '../test/helpers/haproxy-cluster.ts';
import { tempPgDatabase } from '../test/helpers/pg.ts';
import { runCli } from '../test/helpers/server.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    'imap-concurrency': { type: 'string', default: '16' },
    size: { type: 'string', default: '10240' },
    'backup-messages': { type: 'string', default: '10000' },
  },
});
const SECONDS = Number(args.seconds);
const SIZE = Number(args.size);
const SENDER = 'sender@example.test';
const READER = 'reader@example.test';
const PASSWORD = 'cluster bench password';
// ../shared beside the repository, or beside the folder of worktrees (a worktree in wt/NAME).
const LOADGEN = ['..', '../..']
  .map((up) => path.resolve(import.meta.dirname, '..', up, 'shared', 'bench', 'imap-load.mjs'))
  .find((f) => existsSync(f))!;

const log = (line: string) => process.stderr.write(`bench/cluster: ${line}\n`);

function message(i: number): Buffer {
  const head = `From: ${SENDER}\r\nTo: ${SENDER}\r\nSubject: bench ${i}\r\nMessage-ID: <${randomUUID()}@bench>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = `${'The quick brown fox jumps over the lazy dog. '.repeat(2).slice(0, 76)}\r\n`;
  let body = '';
  while (head.length + body.length < SIZE) body += line;
  return Buffer.from(head + body.slice(0, SIZE - head.length));
}

type Conn = InstanceType<typeof SMTPConnection>;
const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

/** Messages per second over `lanes` reused submissions connections for SECONDS. */
async function messagesPerSecond(cluster: HaproxyCluster, lanes: number): Promise<{ rate: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  const end = Date.now() + SECONDS * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      let c: Conn | undefined;
      for (let i = 0; Date.now() < end; i++) {
        try {
          if (!c) {
            const fresh = new SMTPConnection({
              host: '127.0.0.1',
              port: cluster.fronts.submissions,
              secure: true,
              tls: { ca: cluster.ca, servername: 'localhost' },
              logger: false,
            });
            await call<void>((cb) => fresh.connect((err) => cb(err)));
            await call<void>((cb) => fresh.login({ user: SENDER, pass: PASSWORD }, (err) => cb(err)));
            c = fresh;
          }
          const conn = c;
          await call((cb) => conn.send({ from: SENDER, to: [SENDER] }, message(i), cb));
          sent++;
        } catch {
          failed++;
          c?.close();
          c = undefined;
        }
      }
      c?.quit();
    }),
  );
  return { rate: sent / (Number(process.hrtime.bigint() - start) / 1e9), failed };
}

/** IMAP sessions per second through HAProxy's IMAPS front, with the shared load generator. */
function sessionsPerSecond(cluster: HaproxyCluster): Promise<{ rate: number; errors: number }> {
  const argv = [LOADGEN, '--host', '127.0.0.1', '--port', String(cluster.fronts.imaps), '--tls', 'implicit', '--mech', 'PLAIN'];
  argv.push('--user', READER, '--secret-or-keyfile', PASSWORD, '--concurrency', args['imap-concurrency']!, '--seconds', String(SECONDS));
  argv.push('--warmup', '2', '--fetch', '1:*', '--json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT ') || l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`imap-load exited ${code}: ${out}`));
      const r = JSON.parse(line.replace(/^RESULT /, '')) as { sessions_per_s: number; sessions_err: number };
      resolve({ rate: r.sessions_per_s, errors: r.sessions_err });
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t) / 1e9];
}

const db = await tempPgDatabase();
const cluster = new HaproxyCluster();
const results: Array<{ nodes: number; msgs: number; sessions: number; failed: number }> = [];
const work = await mkdtemp(path.join(os.tmpdir(), 'fp-cluster-bench-'));
try {
  await cluster.setup(db.url);
  for (let i = 0; i < cluster.nodes.length; i++) await cluster.start(i);
  for (const user of [SENDER, READER]) {
    const r = await runCli(['admin', 'user', 'add', user, '--password-stdin', '--data', cluster.nodes[0]!.dataDir], {
      input: `${PASSWORD}\n`,
      env: cluster.cliEnv,
    });
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await cluster.startHaproxy();
  const reader = new ImapFlow({
    host: 'localhost',
    port: cluster.fronts.imaps,
    secure: true,
    tls: { ca: cluster.ca },
    auth: { user: READER, pass: PASSWORD },
    logger: false,
  });
  await reader.connect();
  for (let i = 0; i < 100; i++) await reader.append('INBOX', message(i));
  await reader.logout();
  log('3 nodes up, 100 messages in the reader’s INBOX');
  for (let up = cluster.nodes.length; up >= 1; up--) {
    if (up < cluster.nodes.length) {
      await cluster.nodes[up]!.proc!.stop('SIGTERM', 60_000);
      // HAProxy's check (every 200 ms) takes the stopped node out.
      await new Promise((r) => setTimeout(r, 1500));
    }
    const m = await messagesPerSecond(cluster, Number(args.concurrency));
    const s = await sessionsPerSecond(cluster);
    results.push({ nodes: up, msgs: m.rate, sessions: s.rate, failed: m.failed + s.errors });
    log(`${up} node(s): ${m.rate.toFixed(1)} msg/s, ${s.rate.toFixed(1)} sessions/s, ${m.failed + s.errors} failed`);
  }
  // Backup and restore of a store with --backup-messages messages (node 1's configuration).
  const target = Number(args['backup-messages']);
  const config = loadConfig({ file: path.join(cluster.nodes[0]!.dataDir, 'fingerpost.toml'), dataDir: cluster.nodes[0]!.dataDir, env: {} });
  const services = await openServices(config, { logger: createLogger('warn') });
  let total = 0;
  try {
    const account = await services.directory.findByAddress(SENDER);
    const inbox = (await services.mail.mailboxByRole(account!.id, 'inbox'))!;
    const have = (await services.mail.mailboxCounts(inbox.id)).messages;
    for (let i = have; i < target; i++) await services.mail.deliver(account!.id, message(i));
    total = Math.max(have, target);
  } finally {
    await services.close();
  }
  const restoreDb = await tempPgDatabase();
  try {
    const env = cluster.cliEnv;
    const [backup, backupS] = await timed(() =>
      runCli(['backup', path.join(work, 'backup'), '--data', cluster.nodes[0]!.dataDir], { env }),
    );
    if (backup.code !== 0) throw new Error(backup.stderr);
    const [restore, restoreS] = await timed(() =>
      runCli(['restore', path.join(work, 'backup'), '--data', path.join(work, 'restored')], {
        env: { ...env, FINGERPOST_STORE_URL: restoreDb.url },
      }),
    );
    if (restore.code !== 0) throw new Error(restore.stderr);
    console.log(
      `backup of ${total}+ messages (PostgreSQL, bodies in the database): ${backupS.toFixed(1)} s; restore: ${restoreS.toFixed(1)} s`,
    );
  } finally {
    await restoreDb.drop();
  }
} finally {
  await cluster.close();
  await db.drop();
  await rm(work, { recursive: true, force: true });
}
const one = results.find((r) => r.nodes === 1);
console.log('| nodes | msgs/s | × 1 node | sessions/s | × 1 node | failed |');
console.log('|---|---|---|---|---|---|');
for (const r of results.sort((a, b) => a.nodes - b.nodes))
  console.log(
    `| ${r.nodes} | ${r.msgs.toFixed(1)} | ${one ? (r.msgs / one.msgs).toFixed(2) : '-'} | ${r.sessions.toFixed(1)} | ${one ? (r.sessions / one.sessions).toFixed(2) : '-'} | ${r.failed} |`,
  );
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
