// Event-loop delay of a `fingerpost serve` child process while one hostile client runs the worst
// requests we know of. The server is one Node process: every IMAP, SMTP, JMAP and web user waits
// whatever the event loop waits. A probe (its own thread, its own connection) sends SMTP NOOP every
// 10 ms and times each answer; the server's own histogram (perf_hooks monitorEventLoopDelay, read
// from /metrics) and its stall counter and memory (VmRSS/VmHWM) are read around each scenario.
//
//   ./node_modules/.bin/node bench/loop-delay.ts [--mb 45] [--append-mb 49] [--parallel 8] [--only mx,append,parallel]
//       [--shape headerless|plain]
//   ./node_modules/.bin/node bench/loop-delay.ts --only sort [--messages 100000]
//
// Scenarios: `idle` (baseline), `mx` (one message of MB megabytes on the MX port), `append` (an
// IMAP APPEND of the same shape, signed in), `parallel` (PARALLEL such MX messages at once:
// memory). Shapes: `headerless` (`x` lines without a colon: no header ever ends, the worst we
// know), `plain` (a short header and 76-character text lines). `sort`: a mailbox of MESSAGES
// generated messages (test/helpers/seed-mailbox.ts, written into the server's SQLite file while it runs)
// and one signed-in client running, one after another, the SORT and THREAD commands a webmail
// sends over all of it (each a scenario), plus SELECT after a change and header SEARCH.
import { readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** One SMTP conversation step on a raw socket: write `line`, resolve with the reply line(s). */
function replies(socket: net.Socket): (line?: string) => Promise<string> {
  let buf = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    buf += d;
    for (const w of waiters.splice(0)) w();
  });
  return async (line) => {
    if (line !== undefined) socket.write(`${line}\r\n`);
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = buf.slice(0, end);
        buf = buf.slice(end);
        return out;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
}

// ------------------------------------------------------------------ probe thread
if (!isMainThread) {
  const { port } = workerData as { port: number };
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const say = replies(socket);
  await say();
  await say('EHLO probe.bench');
  let samples: number[] = [];
  parentPort!.on('message', (msg: string) => {
    if (msg === 'take') {
      parentPort!.postMessage(samples);
      samples = [];
    } else if (msg === 'stop') socket.destroy();
  });
  // The probe is answered well within the server's idle timeout; NOOP costs the server nothing.
  for (;;) {
    const t0 = performance.now();
    try {
      await say('NOOP');
    } catch {
      break;
    }
    samples.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 10));
    if (socket.destroyed) break;
  }
} else {
  await main();
}

// ------------------------------------------------------------------ main thread
async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      mb: { type: 'string', default: '45' },
      'append-mb': { type: 'string', default: '49' },
      parallel: { type: 'string', default: '8' },
      only: { type: 'string', default: 'mx,append,parallel' },
      shape: { type: 'string', default: 'headerless' },
      messages: { type: 'string', default: '100000' },
    },
  });
  const MB = 1024 * 1024;
  const scenarios = new Set(args.only.split(','));
  const { spawnServe } = await import('../test/helpers/process.ts');
  const { portEnv, portOverrides, runCli } = await import('../test/helpers/server.ts');
  const dataDir = await (await import('node:fs/promises')).mkdtemp(path.join(os.tmpdir(), 'fp-bench-loop-'));
  const { ports } = await portOverrides();
  await writeFile(
    path.join(dataDir, 'fingerpost.toml'),
    `[log]\nlevel = "warn"\n[queue]\nenabled = false\n[smtp]\nmax_message_bytes = ${60 * MB}\n[imap]\nappend_limit = ${60 * MB}\n`,
  );
  const env = portEnv(ports);
  await runCli(['admin', 'domain', 'add', 'example.test', '--data', dataDir]);
  const PASSWORD = 'bench-password-123';
  await runCli(['admin', 'user', 'add', 'bench@example.test', '--password-stdin', '--data', dataDir], { input: `${PASSWORD}\n` });
  const server = await spawnServe(['--data', dataDir, '--domain', 'example.test'], env);
  if (server.child.exitCode !== null) throw new Error(`serve failed:\n${server.stderr}`);
  const pid = server.child.pid!;
  const ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');

  const memory = async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  };
  /** The server's delay histogram since the previous read (prom-client resets it on each scrape), and its stall count. */
  const serverLoop = () =>
    new Promise<{ p99: number; max: number; stalls: number }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: ports.https, path: '/metrics', ca, servername: 'localhost' }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
            resolve({
              p99: value('fingerpost_process_nodejs_eventloop_lag_p99_seconds') * 1000,
              max: value('fingerpost_process_nodejs_eventloop_lag_max_seconds') * 1000,
              stalls: value('fingerpost_event_loop_stalls_total'),
            });
          });
        })
        .on('error', reject);
    });

  const probe = new Worker(new URL(import.meta.url), { workerData: { port: ports.smtp } });
  const take = () =>
    new Promise<number[]>((resolve) => {
      probe.once('message', resolve);
      probe.postMessage('take');
    });
  const quantile = (xs: number[], q: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
  };
  const rows: string[][] = [];
  const measure = async (name: string, run: () => Promise<string>) => {
    await take();
    const before = await serverLoop();
    const memBefore = await memory();
    let peak = memBefore.rss;
    const sampler = setInterval(() => {
      memory().then(
        (m) => {
          peak = Math.max(peak, m.rss);
        },
        () => {},
      );
    }, 100);
    const t0 = performance.now();
    const outcome = await run();
    const secs = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const samples = await take();
    const after = await serverLoop();
    await new Promise((r) => setTimeout(r, 2000));
    const settled = await memory();
    rows.push([
      name,
      outcome,
      secs.toFixed(1),
      String(samples.length),
      quantile(samples, 0.5).toFixed(1),
      quantile(samples, 0.99).toFixed(1),
      Math.max(...samples).toFixed(0),
      after.p99.toFixed(1),
      after.max.toFixed(0),
      String(after.stalls - before.stalls),
      memBefore.rss.toFixed(0),
      peak.toFixed(0),
      settled.rss.toFixed(0),
    ]);
  };

  /** `mb` megabytes: `x` lines without a colon (headerless), or a header and text lines (plain). */
  const headerless = (mb: number) => {
    if (args.shape !== 'plain') return Buffer.from('x\r\n'.repeat(Math.floor((mb * MB) / 3)));
    const line = `${'The quick brown fox jumps over the lazy dog. '.repeat(2).slice(0, 76)}\r\n`;
    return Buffer.from(`From: a@remote.bench\r\nSubject: plain\r\n\r\n${line.repeat(Math.floor((mb * MB) / line.length))}`);
  };
  const shape = args.shape === 'plain' ? 'text lines' : 'lines without a colon';

  const mx = async (body: Buffer) => {
    const socket = net.connect({ host: '127.0.0.1', port: ports.smtp });
    const say = replies(socket);
    await say();
    await say('EHLO hostile.bench');
    await say('MAIL FROM:<hostile@remote.bench>');
    await say('RCPT TO:<bench@example.test>');
    await say('DATA');
    socket.write(body);
    const answer = await say('.');
    socket.destroy();
    return answer.trim().slice(0, 3);
  };

  /**
   * A signed-in IMAP session on a raw TLS socket: `run(text, literal?)` sends one command (with
   * `literal` appended as a LITERAL+ `{n+}` literal) and resolves with its tagged status.
   */
  const imapSession = async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: ports.imaps, ca, servername: 'localhost' });
    socket.setEncoding('latin1');
    let buf = '';
    const waiters: Array<() => void> = [];
    socket.on('data', (d: string) => {
      buf += d;
      for (const w of waiters.splice(0)) w();
    });
    let n = 0;
    const until = async (re: RegExp) => {
      for (;;) {
        const m = re.exec(buf);
        if (m) {
          buf = buf.slice(m.index + m[0].length);
          return m[0];
        }
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    await until(/^\* OK.*\r\n/m);
    const run = async (text: string, literal?: Buffer) => {
      const tag = `t${n++}`;
      if (literal) {
        socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
        socket.write(literal);
        socket.write('\r\n');
      } else socket.write(`${tag} ${text}\r\n`);
      const answer = await until(new RegExp(`^${tag} (OK|NO|BAD).*\r\n`, 'm'));
      return answer.slice(tag.length + 1, tag.length + 3);
    };
    await run(`LOGIN bench@example.test ${PASSWORD}`);
    return { run, close: () => socket.destroy() };
  };

  const append = async (body: Buffer) => {
    const imap = await imapSession();
    try {
      return await imap.run('APPEND INBOX', body);
    } finally {
      imap.close();
    }
  };

  try {
    console.log(`Fingerpost event-loop delay under a hostile client, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);
    await new Promise((r) => setTimeout(r, 1000));
    await measure('idle (3 s, no hostile client)', async () => {
      await new Promise((r) => setTimeout(r, 3000));
      return '-';
    });
    if (scenarios.has('mx')) {
      const body = headerless(Number(args.mb));
      await measure(`MX DATA ${args.mb} MB of ${shape}`, () => mx(body));
    }
    if (scenarios.has('append')) {
      const body = headerless(Number(args['append-mb']));
      await measure(`IMAP APPEND ${args['append-mb']} MB of ${shape}`, () => append(body));
    }
    if (scenarios.has('parallel')) {
      const n = Number(args.parallel);
      const body = headerless(Number(args.mb));
      await measure(`MX DATA ${n} x ${args.mb} MB of ${shape} in parallel`, async () => {
        const answers = await Promise.all(Array.from({ length: n }, () => mx(body)));
        return [...new Set(answers)].join(',');
      });
    }
    if (scenarios.has('sort')) {
      const n = Number(args.messages);
      const imap = await imapSession();
      await imap.run('CREATE Big');
      await imap.run('APPEND INBOX {31}\r\nSubject: seed\r\n\r\nseed message\r\n');
      const { openDb } = await import('../src/store/db.ts');
      const { seedMailbox } = await import('../test/helpers/seed-mailbox.ts');
      const db = await openDb({ url: '', sqlitePath: path.join(dataDir, 'fingerpost.db') });
      const account = await db.kysely
        .selectFrom('accounts')
        .select('id')
        .where('address', '=', 'bench@example.test')
        .executeTakeFirstOrThrow();
      const big = await db.kysely
        .selectFrom('mailboxes')
        .select('id')
        .where('account_id', '=', account.id)
        .where('name', '=', 'Big')
        .executeTakeFirstOrThrow();
      const { blob_id: blobId } = await db.kysely
        .selectFrom('messages')
        .select('blob_id')
        .where('account_id', '=', account.id)
        .executeTakeFirstOrThrow();
      const t0 = performance.now();
      await seedMailbox(db.kysely, account.id, big.id, n, { blobId });
      // Copy the bulk write's WAL into the database now: otherwise the server's first write after
      // it (SELECT's \Recent claim) checkpoints 100,000 rows written behind its back, on its loop.
      const { sql } = await import('kysely');
      if (process.env.BENCH_NO_CHECKPOINT !== '1') await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db.kysely);
      await db.close();
      console.log(`seeded ${n} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const label = `${n.toLocaleString('en')} messages`;
      await measure(`IMAP SELECT Big, first, ${label}`, () => imap.run('SELECT Big'));
      // A change by another session, then this one selects again (the snapshot is stale).
      const other = await imapSession();
      await other.run('SELECT Big');
      await other.run('UID STORE 5 +FLAGS (\\Flagged)');
      await imap.run('UNSELECT');
      await measure(`IMAP SELECT Big after a change, ${label}`, () => imap.run('SELECT Big'));
      other.close();
      for (const command of [
        'UID SEARCH HEADER Subject "topic 7"',
        'UID SEARCH FROM "u7@"',
        'UID SORT (DATE) UTF-8 ALL',
        'UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
        'UID SORT (FROM) UTF-8 ALL',
        'UID THREAD REFERENCES UTF-8 ALL',
        'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
      ])
        await measure(`IMAP ${command}, ${label}`, () => imap.run(command));
      imap.close();
    }
    const head = [
      'scenario',
      'reply',
      's',
      'probes',
      'probe p50 ms',
      'probe p99 ms',
      'probe max ms',
      'loop p99 ms',
      'loop max ms',
      'stalls',
      'RSS before MB',
      'RSS peak MB',
      'RSS after MB',
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    const { hwm } = await memory();
    console.log(`server peak RSS over the whole run (VmHWM): ${hwm.toFixed(0)} MB`);
  } finally {
    probe.postMessage('stop');
    await probe.terminate();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
