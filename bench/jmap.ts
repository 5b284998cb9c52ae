// JMAP API speed (issue 7): requests per second and latency percentiles of one API request with
// `Email/query` (inMailbox, newest first, 50 per page) + `Email/get` of those 50 (a result
// reference on /ids; threadId, from, subject, receivedAt, keywords, preview, mailboxIds), on an
// account with 10,000 messages, at concurrency 1 and 16, for the first page and for random pages.
// The server is a separate `fingerpost serve` process on SQLite; the client sends a Bearer token
// from the embedded provider over HTTPS keep-alive connections.
//
//   ./node_modules/.bin/node bench/jmap.ts [--work /tmp/fp-jmap-bench] [--messages 10000]
//       [--seconds 8] [--warmup 2] [--conc 1,16] [--pages echo,first,random] [--fresh] [--profile DIR]
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { resourceIds } from '../src/config/resources.ts';
import { createLogger } from '../src/core/log.ts';
import { ensureFirstStart, openServices } from '../src/main.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { CLI, NODE, runCli } from '../test/helpers/server.ts';

const { values: args } = parseArgs({
  options: {
    work: { type: 'string', default: '/tmp/fp-jmap-bench' },
    messages: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    conc: { type: 'string', default: '1,16' },
    fresh: { type: 'boolean', default: false },
    /** Write a V8 CPU profile of the server process into this directory. */
    profile: { type: 'string' },
    pages: { type: 'string', default: 'echo,first,random' },
  },
});
const WORK = path.resolve(args.work!);
const MESSAGES = Number(args.messages);
const USER = 'bench@example.test';
const MARKER = path.join(WORK, `populated-${MESSAGES}`);

function log(line: string): void {
  process.stderr.write(`bench/jmap: ${line}\n`);
}

const SENDERS = [
  'Alice Archer <alice@one.test>',
  'Bob Baker <bob@two.test>',
  '=?UTF-8?Q?J=C3=BCrgen?= <j@three.test>',
  'news@list.test',
  'Carol <carol@one.test>',
];
const WORDS = ['quarterly', 'report', 'lunch', 'meeting', 'invoice', 'holiday', 'release', 'review', 'plan', 'budget', 'draft', 'update'];

/** A plausible message: threads of up to five replies, a few kilobytes of text. */
function message(i: number): Buffer {
  const thread = Math.floor(i / 5);
  const subject = `${i % 5 ? 'Re: ' : ''}${WORDS[thread % WORDS.length]} ${WORDS[(thread * 7) % WORDS.length]} #${thread}`;
  const body = Array.from(
    { length: 20 + (i % 40) },
    (_, l) => `Line ${l} of message ${i}: ${WORDS[(i + l) % WORDS.length]} ${'lorem ipsum '.repeat(4)}`,
  ).join('\r\n');
  return Buffer.from(
    [
      `From: ${SENDERS[i % SENDERS.length]}`,
      `To: ${USER}`,
      `Subject: ${subject}`,
      `Date: ${new Date(Date.UTC(2025, 0, 1) + i * 60_000).toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <m${i}@bench.test>`,
      ...(i % 5 ? [`In-Reply-To: <m${i - 1}@bench.test>`, `References: <m${thread * 5}@bench.test>`] : []),
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/** Creates the data directory with the account and its messages (once; reused by later runs). */
async function populate(): Promise<void> {
  if (!args.fresh && existsSync(MARKER)) return log(`reusing ${WORK} (${MESSAGES} messages)`);
  await rm(WORK, { recursive: true, force: true });
  const config = loadConfig({ dataDir: WORK, env: {}, overrides: { log: { level: 'silent' } } });
  const services = await openServices(config, { logger: createLogger('silent') });
  await ensureFirstStart(services, 'example.test');
  const { account } = await services.accounts.addUser({ address: USER, password: 'bench password 1' });
  const inbox = (await services.mail.getMailbox(account.id, 'INBOX'))!;
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    await services.mail.append(account.id, inbox.id, message(i), {
      receivedAt: Date.UTC(2025, 0, 1) + i * 60_000,
      keywords: i % 3 ? ['$seen'] : [],
    });
    if ((i + 1) % 2000 === 0) log(`${i + 1} messages stored`);
  }
  log(`stored ${MESSAGES} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await services.close();
  await import('node:fs/promises').then((fs) => fs.writeFile(MARKER, ''));
}

async function serve(ports: number[]): Promise<ChildProcess> {
  const [https, imap, imaps, pop3, pop3s, smtp, submission, submissions] = ports;
  const env = {
    ...process.env,
    FINGERPOST_HTTP_PORT: String(https),
    FINGERPOST_HTTP_BIND: '127.0.0.1',
    FINGERPOST_IMAP_PORT: String(imap),
    FINGERPOST_IMAP_TLS_PORT: String(imaps),
    FINGERPOST_POP3_PORT: String(pop3),
    FINGERPOST_POP3_TLS_PORT: String(pop3s),
    FINGERPOST_SMTP_PORT: String(smtp),
    FINGERPOST_SUBMISSION_PORT: String(submission),
    FINGERPOST_SUBMISSION_TLS_PORT: String(submissions),
    FINGERPOST_QUEUE_ENABLED: 'false',
    FINGERPOST_LOG_LEVEL: 'warn',
    // One account at concurrency 16 needs the per-account request limit raised from its default of 4.
    FINGERPOST_JMAP_MAX_CONCURRENT_REQUESTS: '64',
  };
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`] : [];
  const child = spawn(NODE, [...profile, CLI, 'serve', '--data', WORK], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${err}`)), 60_000);
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('Fingerpost is running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${err}`)));
  });
  return child;
}

interface Result {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly n: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  await populate();
  const ports = await freePorts(8);
  const child = await serve(ports);
  try {
    const base = `https://localhost:${ports[0]}`;
    const config = loadConfig({ dataDir: WORK, env: {}, overrides: { http: { port: ports[0] } } });
    const tokenRun = await runCli(
      ['admin', 'token', 'issue', USER, '--data', WORK, '--resource', resourceIds(config).jmap, '--ttl', '1h'],
      {
        env: { FINGERPOST_HTTP_PORT: String(ports[0]), FINGERPOST_LOG_LEVEL: 'silent' },
      },
    );
    if (tokenRun.code !== 0) throw new Error(tokenRun.stderr);
    const token = tokenRun.stdout.trim().split('\n').at(-1)!;
    const ca = await readFile(path.join(WORK, 'tls', 'ca.pem'), 'utf8');

    const request = (agent: https.Agent, method: string, url: string, body?: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = https.request(
          url,
          { method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    const setup = new https.Agent({ keepAlive: true, ca });
    const session = JSON.parse((await request(setup, 'GET', `${base}/jmap/session`)).text);
    const accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
    const boxes = JSON.parse(
      (
        await request(
          setup,
          'POST',
          session.apiUrl,
          JSON.stringify({
            using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
            methodCalls: [['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q']],
          }),
        )
      ).text,
    );
    const inbox = boxes.methodResponses[0][1].ids[0];
    setup.destroy();
    const body = (position: number) =>
      JSON.stringify({
        using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
        methodCalls: [
          [
            'Email/query',
            { accountId, filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }], position, limit: 50 },
            'q',
          ],
          [
            'Email/get',
            {
              accountId,
              '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
              properties: ['threadId', 'from', 'subject', 'receivedAt', 'keywords', 'preview', 'mailboxIds'],
            },
            'g',
          ],
        ],
      });
    // Check the answer once: 50 Emails on the first page.
    const check = new https.Agent({ keepAlive: true, ca });
    const sample = JSON.parse((await request(check, 'POST', session.apiUrl, body(0))).text);
    check.destroy();
    if (sample.methodResponses[1][1].list.length !== 50) throw new Error(`unexpected answer: ${JSON.stringify(sample).slice(0, 300)}`);

    // The floor: an authenticated Core/echo (TLS, HTTP, Bearer verification, request parsing).
    const echo = JSON.stringify({ using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', { hello: 'world' }, 'e']] });
    const run = async (concurrency: number, pages: 'first' | 'random' | 'echo', seconds: number): Promise<Result> => {
      const agent = new https.Agent({ keepAlive: true, ca, maxSockets: concurrency });
      const latencies: number[] = [];
      const until = performance.now() + seconds * 1000;
      let errors = 0;
      const worker = async () => {
        while (performance.now() < until) {
          const position = pages === 'first' ? 0 : 50 * Math.floor(Math.random() * (MESSAGES / 50));
          const t0 = performance.now();
          const r = await request(agent, 'POST', session.apiUrl, pages === 'echo' ? echo : body(position));
          latencies.push(performance.now() - t0);
          if (r.status !== 200) errors++;
        }
      };
      const start = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsed = (performance.now() - start) / 1000;
      agent.destroy();
      if (errors) throw new Error(`${errors} requests failed`);
      latencies.sort((a, b) => a - b);
      return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
    };

    const rows: string[] = [];
    for (const pages of args.pages!.split(',') as Array<'echo' | 'first' | 'random'>) {
      for (const concurrency of args.conc!.split(',').map(Number)) {
        await run(concurrency, pages, Number(args.warmup));
        const r = await run(concurrency, pages, Number(args.seconds));
        rows.push(
          `${pages.padEnd(7)} ${String(concurrency).padStart(4)} ${r.rps.toFixed(1).padStart(9)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.n).padStart(7)}`,
        );
        log(`done: ${pages} pages, concurrency ${concurrency}`);
      }
    }
    process.stdout.write(
      `JMAP Email/query + Email/get (50, back-reference), ${MESSAGES}-message INBOX, SQLite, ${args.seconds} s per row\n` +
        `pages   conc     req/s  p50 ms   p99 ms  requests   (echo: Core/echo alone, the HTTPS + auth floor)\n${rows.join('\n')}\n`,
    );
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

await main();
