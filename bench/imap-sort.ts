// SELECT, SORT, THREAD and UID SEARCH on one large mailbox (default 100,000 messages), and what
// they cost everyone else: the event-loop delay (p99, max) while each command runs, and the
// round-trip of a NOOP another session sends every 20 ms meanwhile. Fingerpost in-process on
// SQLite; the messages are written straight into the store's tables (they share one blob, as
// SORT and THREAD never read message files). With --maildir the same messages are also written as
// a Maildir folder for another server (e.g. the shared Dovecot's user1/Maildir/.Big), and with
// --target-port the same commands run against that server too, interleaved run by run; the
// table then gives both and the ratio. After one unmeasured warm-up pass (index and cache builds).
//
//   ./node_modules/.bin/node bench/imap-sort.ts [--messages 100000] [--runs 3]
//   ./node_modules/.bin/node bench/imap-sort.ts --maildir DIR/.Big --target-port 14393 --target-ca cert.pem
//   ./node_modules/.bin/node bench/imap-sort.ts --dovecot   (starts a private Dovecot, test/helpers/dovecot.ts)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startTestServer } from '../test/helpers/server.ts';
import { LineClient } from '../test/helpers/wire.ts';
import { startDovecot, type TestDovecot } from '../test/helpers/dovecot.ts';
import { seedMailbox } from '../test/helpers/seed-mailbox.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    maildir: { type: 'string' },
    dovecot: { type: 'boolean', default: false },
    'target-host': { type: 'string', default: '127.0.0.1' },
    'target-port': { type: 'string' },
    'target-ca': { type: 'string' },
    'target-user': { type: 'string', default: 'user1@example.test' },
    'target-pass': { type: 'string', default: 'bench-password-1' },
  },
});
let dovecot: TestDovecot | undefined;
const N = Number(args.messages);
const RUNS = Number(args.runs);
const USER = 'bench@example.test';
const PASSWORD = 'bench-password-1';
const log = (line: string) => process.stderr.write(`bench/imap-sort: ${line}\n`);

if (args.dovecot) {
  const d = await startDovecot();
  process.on('exit', () => void d.close());
  Object.assign(args, {
    maildir: path.join(d.maildir, '.Big'),
    'target-port': String(d.imapsPort),
    'target-ca': d.caFile,
    'target-user': d.user,
    'target-pass': d.password,
  });
  dovecot = d;
}
const t = await startTestServer({ domain: 'example.test', overrides: { imap: { commands_per_second: 100_000 } } });
const { account } = await t.services.accounts.addUser({ address: USER, password: PASSWORD });
const box = await t.services.mail.createMailbox(account.id, 'Big');

log(`seeding ${N} messages`);
const started = performance.now();
const blobId = await t.services.mail.blobs.put(Buffer.from('Subject: shared\r\n\r\nbody\r\n'));
await seedMailbox(t.services.db.kysely, account.id, box.id, N, { blobId, ...(args.maildir ? { maildir: args.maildir } : {}) });
dovecot?.fixOwnership();
log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);

interface Target {
  readonly name: string;
  readonly worker: LineClient;
  readonly watcher: LineClient;
}

async function connect(port: number, ca: string, user: string, pass: string, host = '127.0.0.1'): Promise<LineClient> {
  const c = await LineClient.connect(port, { tls: true, ca, host });
  await c.line();
  c.write(`l LOGIN ${user} "${pass}"\r\n`);
  await c.until(/^l OK/, 120_000);
  return c;
}

async function target(name: string, open: () => Promise<LineClient>): Promise<Target> {
  const worker = await open();
  const watcher = await open();
  await cmdOf(watcher, 'w', 'SELECT INBOX');
  return { name, worker, watcher };
}

const targets = [await target('fingerpost', () => connect(t.ports.imaps, t.ca, USER, PASSWORD))];
if (args['target-port']) {
  const ca = args['target-ca'] ? readFileSync(args['target-ca'], 'utf8') : '';
  const other = () => connect(Number(args['target-port']), ca, args['target-user'], args['target-pass'], args['target-host']);
  targets.push(await target('other', other));
}

function cmdOf(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`), 600_000);
}

const quantile = (xs: number[], q: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** Runs one command on the worker while the watcher sends NOOPs; returns the figures. */
async function measure(
  { worker, watcher }: Target,
  text: string,
): Promise<{ ms: number; loopP99: number; loopMax: number; noopP99: number; noopMax: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const noops: number[] = [];
  let running = true;
  const pinger = (async () => {
    let n = 0;
    while (running) {
      const sent = performance.now();
      await cmdOf(watcher, `p${n++}`, 'NOOP');
      noops.push(performance.now() - sent);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  delay.enable();
  const begin = performance.now();
  const answer = await cmdOf(worker, 'x', text);
  if (!/^x OK/.test(answer.at(-1)!)) throw new Error(`${text}: ${answer.at(-1)}`);
  const ms = performance.now() - begin;
  delay.disable();
  running = false;
  await pinger;
  return {
    ms,
    loopP99: delay.percentile(99) / 1e6,
    loopMax: delay.max / 1e6,
    noopP99: quantile(noops, 0.99),
    noopMax: Math.max(0, ...noops),
  };
}

const COMMANDS = [
  'SELECT Big',
  'UID SEARCH SUBJECT "Topic 7"',
  'UID SEARCH HEADER Subject "Topic 7"',
  'UID SEARCH FROM "u7@"',
  'UID SORT (DATE) UTF-8 ALL',
  'UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
  'UID SORT (FROM) UTF-8 ALL',
  'UID THREAD REFERENCES UTF-8 ALL',
  'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
];
type Figures = Awaited<ReturnType<typeof measure>>;
// Warm-up: the other server builds its index on the first SELECT, each builds sort/thread data.
for (const tg of targets) for (const text of COMMANDS) await cmdOf(tg.worker, 'u', text);
const results: Array<[string, Figures[][]]> = [];
for (const text of COMMANDS) {
  const runs: Figures[][] = targets.map(() => []);
  for (let r = 0; r < RUNS; r++)
    for (const [k, tg] of targets.entries()) {
      // SELECT after a change: another flag set first, so neither server has the mailbox as it was.
      if (text.startsWith('SELECT')) {
        await cmdOf(tg.worker, 'c', `UID STORE ${r + 1} +FLAGS (\\Flagged)`).catch(() => {});
        await cmdOf(tg.worker, 'u', 'UNSELECT').catch(() => {});
      }
      runs[k]!.push(await measure(tg, text));
      log(`${tg.name} ${text}: ${runs[k]!.at(-1)!.ms.toFixed(0)} ms`);
    }
  results.push([text, runs]);
}
const f = (x: number) => x.toFixed(0);
console.log(`\n${N.toLocaleString('en')} messages, ${RUNS} runs each (median; worst in parentheses)\n`);
console.log('| command | time ms | loop delay p99 ms | loop delay max ms | other session NOOP p99 ms | NOOP max ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [text, [fp]] of results) {
  const runs = fp!;
  const med = (k: keyof Figures) =>
    quantile(
      runs.map((x) => x[k]),
      0.5,
    );
  const worst = (k: keyof Figures) => Math.max(...runs.map((x) => x[k]));
  console.log(
    `| \`${text}\` | ${f(med('ms'))} (${f(worst('ms'))}) | ${f(med('loopP99'))} (${f(worst('loopP99'))}) | ${f(med('loopMax'))} (${f(worst('loopMax'))}) | ${f(med('noopP99'))} (${f(worst('noopP99'))}) | ${f(med('noopMax'))} (${f(worst('noopMax'))}) |`,
  );
}
if (targets.length > 1) {
  console.log(`\nAgainst ${args['target-host']}:${args['target-port']}, interleaved (median of ${RUNS}):\n`);
  console.log('| command | Fingerpost ms | other ms | ratio (Fingerpost / other) | Fingerpost NOOP p99 ms | other NOOP p99 ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [text, [fp, other]] of results) {
    const med = (runs: Figures[], k: keyof Figures) =>
      quantile(
        runs.map((x) => x[k]),
        0.5,
      );
    console.log(
      `| \`${text}\` | ${f(med(fp!, 'ms'))} | ${f(med(other!, 'ms'))} | ${(med(fp!, 'ms') / Math.max(1, med(other!, 'ms'))).toFixed(2)} | ${f(med(fp!, 'noopP99'))} | ${f(med(other!, 'noopP99'))} |`,
    );
  }
}
for (const tg of targets) {
  tg.worker.close();
  tg.watcher.close();
}
await t.close();
await dovecot?.close();
