// SELECT, SORT, THREAD and UID SEARCH on one large mailbox (default 100,000 messages), and what
// they cost everyone else: the event-loop delay (p99, max) while each command runs, and the
// round-trip of a NOOP another session sends every 20 ms meanwhile. Fingerpost only (in-process,
// SQLite); the messages are written straight into the store's tables (they share one blob, as
// SORT and THREAD never read message files). Prints a table.
//
//   ./node_modules/.bin/node bench/imap-sort.ts [--messages 100000] [--runs 3]
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { mimeParser } from '../src/mail/mime/parse.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { LineClient } from '../test/helpers/wire.ts';

const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } },
});
const N = Number(args.messages);
const RUNS = Number(args.runs);
const USER = 'bench@example.test';
const PASSWORD = 'bench-password-1';
const log = (line: string) => process.stderr.write(`bench/imap-sort: ${line}\n`);

const t = await startTestServer({ domain: 'example.test', overrides: { imap: { commands_per_second: 100_000 } } });
const { account } = await t.services.accounts.addUser({ address: USER, password: PASSWORD });
const box = await t.services.mail.createMailbox(account.id, 'Big');
const db = t.services.db.kysely;

log(`seeding ${N} messages`);
const started = performance.now();
const blobId = await t.services.mail.blobs.put(Buffer.from('Subject: shared\r\n\r\nbody\r\n'));
const subjects = Array.from({ length: 2000 }, (_, i) => `Topic ${i} ${randomBytes(3).toString('hex')}`);
let seed = 1;
const rnd = () => {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
};
for (let start = 0; start < N; start += 1000) {
  await db.transaction().execute(async (trx) => {
    const rows = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      const reply = i > 10 && rnd() < 0.6;
      const parent = reply ? Math.floor(rnd() * i) : -1;
      const subject = `${reply ? 'Re: ' : ''}${subjects[Math.floor(rnd() * subjects.length)]}`;
      const raw = Buffer.from(
        [
          `From: User ${i % 97} <u${i % 97}@example.test>`,
          `To: list${i % 13}@example.test`,
          `Date: ${new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 300 * 86_400_000)).toUTCString()}`,
          `Subject: ${subject}`,
          `Message-ID: <m${i}@bench>`,
          ...(reply ? [`References: <m${parent}@bench>`] : []),
          '',
          'body',
          '',
        ].join('\r\n'),
      );
      const parsed = mimeParser.parse(raw);
      rows.push({
        account_id: account.id,
        blob_id: blobId,
        size: raw.length,
        received_at: Date.UTC(2026, 0, 1) + i * 60_000,
        thread_id: 0,
        message_id_header: parsed.messageId,
        subject: parsed.subject,
        sent_at: parsed.sentAt,
        from_addr: '',
        to_addr: '',
        keywords: i % 3 ? '$seen' : '',
        meta: JSON.stringify(parsed),
        modseq: 2,
        created_at: Date.now(),
      });
    }
    const ids = await trx.insertInto('messages').values(rows).returning('id').execute();
    await trx
      .insertInto('mailbox_messages')
      .values(ids.map((r, k) => ({ mailbox_id: box.id, uid: start + k + 1, message_id: r.id, modseq: 2, saved_at: Date.now() })))
      .execute();
  });
}
await db
  .updateTable('mailboxes')
  .set({ uidnext: N + 1, highest_modseq: 2, first_recent_uid: N + 1 })
  .where('id', '=', box.id)
  .execute();
log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);

async function connect(): Promise<LineClient> {
  const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
  await c.line();
  c.write(`l LOGIN ${USER} ${PASSWORD}\r\n`);
  await c.until(/^l OK/);
  return c;
}

const worker = await connect();
const watcher = await connect();
await cmdOf(watcher, 'w', 'SELECT INBOX');

function cmdOf(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`), 600_000);
}

const quantile = (xs: number[], q: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** Runs one command on the worker while the watcher sends NOOPs; returns the figures. */
async function measure(text: string): Promise<{ ms: number; loopP99: number; loopMax: number; noopP99: number; noopMax: number }> {
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
  await cmdOf(worker, 'x', text);
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
  'UID SORT (DATE) UTF-8 ALL',
  'UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
  'UID SORT (FROM) UTF-8 ALL',
  'UID THREAD REFERENCES UTF-8 ALL',
  'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
];
const results: Array<[string, Awaited<ReturnType<typeof measure>>[]]> = [];
for (const text of COMMANDS) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    if (text.startsWith('SELECT')) await cmdOf(worker, 'u', 'UNSELECT').catch(() => {});
    runs.push(await measure(text));
    log(`${text}: ${runs.at(-1)!.ms.toFixed(0)} ms`);
  }
  results.push([text, runs]);
}
const f = (x: number) => x.toFixed(0);
console.log(`\n${N.toLocaleString('en')} messages, ${RUNS} runs each (median; worst in parentheses)\n`);
console.log('| command | time ms | loop delay p99 ms | loop delay max ms | other session NOOP p99 ms | NOOP max ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [text, runs] of results) {
  const med = (k: keyof (typeof runs)[0]) =>
    quantile(
      runs.map((x) => x[k]),
      0.5,
    );
  const worst = (k: keyof (typeof runs)[0]) => Math.max(...runs.map((x) => x[k]));
  console.log(
    `| \`${text}\` | ${f(med('ms'))} (${f(worst('ms'))}) | ${f(med('loopP99'))} (${f(worst('loopP99'))}) | ${f(med('loopMax'))} (${f(worst('loopMax'))}) | ${f(med('noopP99'))} (${f(worst('noopP99'))}) | ${f(med('noopMax'))} (${f(worst('noopMax'))}) |`,
  );
}
worker.close();
watcher.close();
await t.close();
