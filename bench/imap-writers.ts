// Concurrent writers on one mailbox: N clients each SELECT the same INBOX and loop UID STORE,
// UID FETCH, and (every 5th round) APPEND + UID STORE \Deleted + UID EXPUNGE of their own message.
// Prints the latency (p50, p95, max) of each command kind per concurrency level against an
// in-process Fingerpost on SQLite; with --port/--user/--pass also against another IMAPS server
// (e.g. a Dovecot on the same machine), interleaved: each repetition runs Fingerpost, then the
// other, at every concurrency level, and the table gives both and the ratio of medians. The
// clients run in a worker thread of their own, so they never share Fingerpost's event loop (a
// Dovecot's clients never share its processes either); --in-process puts them back on it.
//
//   ./node_modules/.bin/node bench/imap-writers.ts [--clients 10,50] [--rounds 40] [--messages 1000]
//   ./node_modules/.bin/node bench/imap-writers.ts --port 14393 --user user1@example.test --pass bench-password-1 --reps 3
//   ./node_modules/.bin/node bench/imap-writers.ts --dovecot --reps 3   (a private Dovecot, test/helpers/dovecot.ts, same seed)
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startDovecot } from '../test/helpers/dovecot.ts';
import { startTestServer } from '../test/helpers/server.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '10,50' },
    rounds: { type: 'string', default: '40' },
    messages: { type: 'string', default: '1000' },
    host: { type: 'string' },
    port: { type: 'string' },
    user: { type: 'string', default: 'user1@example.test' },
    pass: { type: 'string', default: 'bench-password-1' },
    reps: { type: 'string', default: '1' },
    mailbox: { type: 'string', default: 'INBOX' },
    dovecot: { type: 'boolean', default: false },
    'in-process': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const log = (line: string) => process.stderr.write(`bench/imap-writers: ${line}\n`);

/** A minimal pipelining-free IMAP client: one command at a time, answers collected by tag. */
class Client {
  readonly #s: tls.TLSSocket;
  #buf = '';
  #wait: (() => void) | null = null;
  #n = 0;
  constructor(s: tls.TLSSocket) {
    this.#s = s;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.#buf += d;
      const w = this.#wait;
      this.#wait = null;
      w?.();
    });
    s.on('error', () => {});
  }
  static connect(host: string, port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host, port, rejectUnauthorized: false, servername: 'localhost' });
      s.setNoDelay(true);
      s.once('secureConnect', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  async #until(re: RegExp): Promise<string> {
    for (;;) {
      const m = re.exec(this.#buf);
      if (m) {
        const out = this.#buf.slice(0, m.index + m[0].length);
        this.#buf = this.#buf.slice(m.index + m[0].length);
        return out;
      }
      await new Promise<void>((r) => {
        this.#wait = r;
      });
    }
  }
  greeting(): Promise<string> {
    return this.#until(/\r\n/);
  }
  async run(text: string, literal?: string): Promise<string> {
    const tag = `t${++this.#n}`;
    if (literal !== undefined) {
      this.#s.write(`${tag} ${text} {${literal.length}}\r\n`);
      await this.#until(/^\+[^\r\n]*\r\n/m);
      this.#s.write(`${literal}\r\n`);
    } else this.#s.write(`${tag} ${text}\r\n`);
    const out = await this.#until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'));
    // A message another writer expunged meanwhile is a normal answer under load (RFC 9051 §7.1).
    if (!new RegExp(`^${tag} (OK|NO \\[EXPUNGEISSUED\\])`, 'm').test(out)) throw new Error(`${text}: ${out.slice(-200)}`);
    return out;
  }
  close(): void {
    this.#s.destroy();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly pass: string;
}
const MSG = 'From: w@example.test\r\nSubject: writer\r\n\r\nshort body\r\n';

async function client(run: Run, seed: number, lat: Record<string, number[]>): Promise<void> {
  const { target, rounds: ROUNDS, mailbox } = run;
  const c = await Client.connect(target.host, target.port);
  await c.greeting();
  await c.run(`LOGIN "${target.user}" "${target.pass}"`);
  const sel = await c.run(`SELECT ${mailbox}`);
  const maxUid = Number(/UIDNEXT (\d+)/.exec(sel)?.[1] ?? 2) - 1;
  let x = seed;
  const rnd = () => {
    x = (x * 48271) % 2147483647;
    return x;
  };
  const timed = async (kind: string, text: string, literal?: string) => {
    const t0 = performance.now();
    const out = await c.run(text, literal);
    (lat[kind] ??= []).push(performance.now() - t0);
    return out;
  };
  for (let r = 0; r < ROUNDS; r++) {
    const uid = 1 + (rnd() % Math.max(1, maxUid - 21));
    await timed('STORE', `UID STORE ${uid} ${r % 2 ? '+' : '-'}FLAGS (\\Flagged)`);
    await timed('FETCH', `UID FETCH ${uid}:${uid + 20} (UID FLAGS RFC822.SIZE ENVELOPE)`);
    if (r % 5 === 4) {
      const appended = await timed('APPEND', `APPEND ${mailbox}`, MSG);
      const mine = /APPENDUID \d+ (\d+)/.exec(appended)?.[1];
      if (mine) {
        await timed('STORE', `UID STORE ${mine} +FLAGS.SILENT (\\Deleted)`);
        await timed('EXPUNGE', `UID EXPUNGE ${mine}`);
      }
    }
  }
  await c.run('LOGOUT').catch(() => {});
  c.close();
}

/** What the load thread runs: `clients` clients against `target`, all at once. */
interface Run {
  readonly target: Target;
  readonly clients: number;
  readonly seed: number;
  readonly rounds: number;
  readonly mailbox: string;
}
/** Latencies per command kind, and the run's wall time. */
interface RunResult {
  readonly lat: Record<string, number[]>;
  readonly ms: number;
}
async function runClients(run: Run): Promise<RunResult> {
  const lat: Record<string, number[]> = {};
  const t0 = performance.now();
  await Promise.all(Array.from({ length: run.clients }, (_, i) => client(run, i + run.seed, lat)));
  return { lat, ms: performance.now() - t0 };
}
if (!isMainThread) {
  parentPort!.postMessage(await runClients(workerData as Run));
  process.exit(0);
}
/** One run in a fresh load thread (or on this thread with --in-process). */
function runOff(run: Run): Promise<RunResult> {
  if (args['in-process']) return runClients(run);
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: run });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code && reject(new Error(`load thread exited ${code}`)));
  });
}

const FP_USER = 'bench@example.test';
let stop = async () => {};
const targets: Target[] = [];
{
  const t = await startTestServer({ domain: 'example.test', overrides: { imap: { commands_per_second: 100_000 } } });
  const { account } = await t.services.accounts.addUser({ address: FP_USER, password: args.pass });
  const inbox = await t.services.mail.getMailbox(account.id, 'INBOX');
  log(`seeding ${args.messages} messages`);
  for (let i = 0; i < Number(args.messages); i += 100)
    await t.services.mail.appendMany(
      account.id,
      inbox!.id,
      Array.from({ length: Math.min(100, Number(args.messages) - i) }, (_, k) => ({
        raw: Buffer.from(`From: u${k}@example.test\r\nSubject: seed ${i + k}\r\nMessage-ID: <s${i + k}@bench>\r\n\r\nbody\r\n`),
      })),
    );
  targets.push({ name: 'fingerpost', host: '127.0.0.1', port: t.ports.imaps, user: FP_USER, pass: args.pass });
  stop = () => t.close();
}
const seedText = (n: number) => `From: u${n % 100}@example.test\r\nSubject: seed ${n}\r\nMessage-ID: <s${n}@bench>\r\n\r\nbody\r\n`;
if (args.dovecot) {
  const d = await startDovecot();
  const cur = path.join(d.maildir, 'cur');
  for (let i = 0; i < Number(args.messages); i++) await writeFile(path.join(cur, `${1_700_000_000 + i}.M${i}P1.bench:2,`), seedText(i));
  d.fixOwnership();
  targets.push({ name: 'other', host: '127.0.0.1', port: d.imapsPort, user: d.user, pass: d.password });
  const fp = stop;
  stop = async () => {
    await fp();
    await d.close();
  };
} else if (args.port)
  targets.push({ name: 'other', host: args.host ?? '127.0.0.1', port: Number(args.port), user: args.user, pass: args.pass });

const KINDS = ['STORE', 'FETCH', 'APPEND', 'EXPUNGE'];
const levels = args.clients.split(',').map(Number);
/** Latencies per target, level and command kind, over all repetitions; commands per second per run. */
const lat = targets.map(() => levels.map(() => ({}) as Record<string, number[]>));
const rates = targets.map(() => levels.map(() => [] as number[]));
for (let rep = 0; rep < Number(args.reps); rep++)
  for (const [li, n] of levels.entries())
    for (const [ti, target] of targets.entries()) {
      const l = lat[ti]![li]!;
      const r = await runOff({ target, clients: n, seed: 1 + rep * 1000, rounds: ROUNDS, mailbox: args.mailbox });
      for (const [kind, xs] of Object.entries(r.lat)) for (const x of xs) (l[kind] ??= []).push(x);
      const done = Object.values(r.lat).reduce((a, x) => a + x.length, 0);
      rates[ti]![li]!.push((done / r.ms) * 1000);
      log(`rep ${rep + 1}: ${target.name}, ${n} clients done`);
    }
const median = (xs: number[]) => pct(xs, 50);
for (const [ti, target] of targets.entries()) {
  console.log(`\n${target.name} (${target.name === 'fingerpost' ? 'in-process, SQLite' : `${target.host}:${target.port}`})\n`);
  console.log('| clients | command | count | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|---:|');
  for (const [li, n] of levels.entries()) {
    const l = lat[ti]![li]!;
    for (const kind of KINDS)
      console.log(
        `| ${n} | ${kind} | ${l[kind]?.length ?? 0} | ${pct(l[kind] ?? [], 50).toFixed(1)} | ${pct(l[kind] ?? [], 95).toFixed(1)} | ${Math.max(0, ...(l[kind] ?? [])).toFixed(1)} |`,
      );
    console.log(`| ${n} | all (commands/s, median run) | | ${median(rates[ti]![li]!).toFixed(0)} | | |`);
  }
}
if (targets.length > 1) {
  console.log('\nratio Fingerpost / other (p50 latency; below 1 is faster), and commands/s ratio\n');
  console.log('| clients | STORE | FETCH | APPEND | EXPUNGE | commands/s |\n|---|---:|---:|---:|---:|---:|');
  for (const [li, n] of levels.entries()) {
    const r = (kind: string) => (pct(lat[0]![li]![kind] ?? [], 50) / Math.max(0.01, pct(lat[1]![li]![kind] ?? [], 50))).toFixed(2);
    console.log(`| ${n} | ${KINDS.map(r).join(' | ')} | ${(median(rates[0]![li]!) / median(rates[1]![li]!)).toFixed(2)} |`);
  }
}
await stop();
