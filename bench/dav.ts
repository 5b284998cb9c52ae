// CalDAV against Radicale (Debian `radicale`) on the same machine, both over TLS with Basic auth and
// kept-alive connections where the server keeps them (Radicale closes each one), one interleaved
// run: for each operation the rounds alternate between the two servers (order swapped every round),
// after one untimed warm-up round each (Radicale builds its item cache on first read). Both sides
// are seeded before the timed part with --events events (20% weekly recurring): Radicale by writing
// the .ics files straight into its storage folder (collection-root/<user>/<calendar>/ with a
// .Radicale.props naming it a VCALENDAR collection), Fingerpost through the calendar import
// (CalendarService.importIcs, what `fingerpost admin calendar import` runs). Operations: GET of
// single events, REPORT calendar-query with a one-month time range (RFC 4791 §7.8), REPORT
// free-busy-query over one month (RFC 4791 §7.10), sync-collection from scratch (RFC 6578) and
// PROPFIND Depth 1. Prints medians and the ratio Radicale time / Fingerpost time (above 1:
// Fingerpost is faster). Then, Fingerpost only: a calendar of --big events and one client running
// the month calendar-query over it while a second client sends PROPFIND Depth 0 back to back
// (p50/p99 of its latency) and the server's own event-loop delay (monitorEventLoopDelay) is read.
//
//   ./node_modules/.bin/node bench/dav.ts [--events 10000] [--rounds 3] [--single 100] [--big 100000]
//
// Fingerpost runs in a child process (this script with --serve) so the client does not share its loop.
//
// 2026-12-07, commit 3ca2d47, --events 10000 --rounds 3 --single 100, load average 8.5 → 4.5 (medians,
// Fingerpost / Radicale ms, ratio): sync-collection 518 / 3,211 (6.2), calendar-query one month
// 375 / 1,546 (4.1), free-busy-query 360 / none (Radicale 3.1.8 answers a bare 207 listing), GET x100
// 143 / 988 (6.9), PROPFIND Depth 1 427 / 47,543 (111). More in docs/calendars.md "Performance".
// --big 100000 (2026-12-08, commit 7534e1a, load 5.6-6.0): the month REPORT answered 507
// number-of-matches-within-limits in 2.1-2.9 s; beside it PROPFIND p50 18-25 ms, p99 32-68 ms,
// server loop delay p99 30-58 ms.
// Since the calendar-query streams (2026-12-08, branch dav2, load average 16-21, one interleaved run,
// --events 10000 --rounds 3): sync-collection 1,859 / 9,316 ms (5.0), calendar-query one month
// 1,369 / 4,818 (3.5), GET x100 1,681 / 3,513 (2.1), PROPFIND Depth 1 2,299 / 86,269 (37.5);
// --big 100000: the month REPORT answers all 15,618 matching objects in 5.4-10.1 s (no 507);
// beside it PROPFIND p50 26-42 ms, p99 243-464 ms, server loop delay p99 217-365 ms. Radicale was
// not run over 100,000 events (its PROPFIND Depth 1 over 10,000 already takes 86 s here).
// Sliced by time (10 ms, src/core/time-slice.ts), quiet machine, --big 100000, one run each:
// REPORT 2,593 → 1,804 ms, loop delay p99 31.3 → 19.9 ms, max 42 → 30 ms.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitForPort } from '../test/helpers/pebble.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { selfSignedCertificate } from '../test/helpers/self-signed.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PASSWORD = 'correct horse battery staple';

interface Target {
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly agent: https.Agent;
  readonly auth: string;
  readonly calendar: string;
}

function call(
  t: Target,
  method: string,
  p: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: t.host, port: t.port, method, path: p, agent: t.agent, headers: { authorization: t.auth, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ok(t: Target, method: string, p: string, body?: string, headers: Record<string, string> = {}, want = [200, 201, 204, 207]) {
  const r = await call(t, method, p, body, headers);
  if (!want.includes(r.status)) throw new Error(`${t.label} ${method} ${p}: ${r.status} ${r.body.slice(0, 300)}`);
  return r;
}

function eventBody(i: number): string {
  const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000 + (i % 9) * 3_600_000);
  const stamp = day
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return (
    `BEGIN:VEVENT\r\nUID:e${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${stamp}\r\nDURATION:PT45M\r\n` +
    `${i % 5 === 0 ? 'RRULE:FREQ=WEEKLY;COUNT=20\r\n' : ''}SUMMARY:event ${i}\r\nEND:VEVENT\r\n`
  );
}
const CAL_HEAD = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n';
const CAL_TAIL = 'END:VCALENDAR\r\n';
/** One calendar object resource per event (what a client PUTs and Radicale stores per file). */
const eventText = (i: number) => CAL_HEAD + eventBody(i) + CAL_TAIL;
/** Events [from, to) in one iCalendar stream (what the import reads). */
function calendarText(from: number, to: number): string {
  const parts = [CAL_HEAD];
  for (let i = from; i < to; i++) parts.push(eventBody(i));
  parts.push(CAL_TAIL);
  return parts.join('');
}

const QUERY =
  '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>' +
  '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260601T000000Z" end="20260701T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>';
const SYNC =
  '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>';
const FREEBUSY =
  '<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20260601T000000Z" end="20260701T000000Z"/></c:free-busy-query>';
const PROPFIND = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const hrefs = (body: string) => [...body.matchAll(/<[a-zA-Z]*:?href>([^<]+\.ics)<\//g)].map((m) => m[1]!);
const responses = (body: string) => (body.match(/<[a-zA-Z]*:?response>/g) ?? []).length;

/** Writes Radicale 3 file storage (radicale/storage/multifilesystem): one .ics file per item. */
function seedRadicale(root: string, user: string, calendar: string, events: number): void {
  const dir = path.join(root, 'collection-root', user, calendar);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '.Radicale.props'), JSON.stringify({ tag: 'VCALENDAR' }));
  for (let i = 0; i < events; i++) writeFileSync(path.join(dir, `e${i}.ics`), eventText(i));
}

async function main(): Promise<void> {
  const EVENTS = arg('events', 10_000);
  const ROUNDS = arg('rounds', 3);
  const SINGLE = arg('single', 100);
  const BIG = arg('big', 100_000);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fp-bench-dav-'));
  const children: ChildProcess[] = [];
  try {
    // Radicale over TLS with a self-signed certificate and a plain htpasswd file.
    const { certFile: cert, keyFile: key } = selfSignedCertificate(tmp);
    writeFileSync(path.join(tmp, 'users'), `b:${PASSWORD}\n`);
    const collections = path.join(tmp, 'collections');
    let t0 = performance.now();
    seedRadicale(collections, 'b', 'bench', EVENTS);
    const seedRadicaleMs = performance.now() - t0;
    const [rport] = (await freePorts(1)) as [number];
    writeFileSync(
      path.join(tmp, 'radicale.conf'),
      [
        '[server]',
        `hosts = 127.0.0.1:${rport}`,
        'ssl = True',
        `certificate = ${cert}`,
        `key = ${key}`,
        '[auth]',
        'type = htpasswd',
        `htpasswd_filename = ${path.join(tmp, 'users')}`,
        'htpasswd_encryption = plain',
        '[storage]',
        `filesystem_folder = ${collections}`,
        '[rights]',
        'type = owner_only',
        '[logging]',
        'level = warning',
        '',
      ].join('\n'),
    );
    const radicale = spawn('radicale', ['--config', path.join(tmp, 'radicale.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(radicale);

    const fp = spawn(process.execPath, [import.meta.filename, '--serve', '--events', String(EVENTS), '--big', String(BIG)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(fp);
    fp.on('exit', (code, signal) => process.stderr.write(`Fingerpost child exited: code ${code}, signal ${signal}\n`));
    const lines = createInterface({ input: fp.stdout! });
    const nextLine = () => new Promise<string>((resolve) => lines.once('line', resolve));
    const info = JSON.parse(await nextLine()) as { base: string; ca: string; seedMs: number; bigMs: number };
    await waitForPort(rport, radicale, () => 'see its log above');
    process.stdout.write(
      `seeded ${EVENTS} events (${EVENTS / 5} weekly recurring): Radicale files written in ${seedRadicaleMs.toFixed(0)} ms, ` +
        `Fingerpost import in ${info.seedMs.toFixed(0)} ms; Fingerpost big calendar of ${BIG} in ${info.bigMs.toFixed(0)} ms\n\n`,
    );

    const fpUrl = new URL(info.base);
    const fpTarget = (calendar: string): Target => ({
      label: 'Fingerpost',
      host: '127.0.0.1',
      port: Number(fpUrl.port),
      agent: new https.Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(info.ca, 'utf8'), servername: 'localhost' }),
      auth: `Basic ${Buffer.from(`b@bench.test:${PASSWORD}`).toString('base64')}`,
      calendar,
    });
    const targets: Target[] = [
      fpTarget('/dav/calendars/b@bench.test/bench/'),
      {
        label: 'Radicale',
        host: '127.0.0.1',
        port: rport,
        // Radicale answers HTTP/1.0 and closes each connection, so it gets no kept-alive sockets.
        agent: new https.Agent({ keepAlive: false, maxSockets: 4, ca: readFileSync(cert, 'utf8'), servername: 'localhost' }),
        auth: `Basic ${Buffer.from(`b:${PASSWORD}`).toString('base64')}`,
        calendar: '/b/bench/',
      },
    ];
    const rows: Array<[string, number, number]> = [];
    const found: Record<string, Record<string, number>> = {};
    const names: Record<string, string[]> = {};
    const noFreeBusy = new Set<string>();

    const measure = async (name: string, once: (t: Target, round: number) => Promise<unknown>) => {
      const times: Record<string, number[]> = { Fingerpost: [], Radicale: [] };
      for (const t of targets) await once(t, -1); // warm-up, untimed
      for (let r = 0; r < ROUNDS; r++)
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          const t0 = performance.now();
          await once(t, r);
          times[t.label]!.push(performance.now() - t0);
        }
      rows.push([name, median(times.Fingerpost!), median(times.Radicale!)]);
      process.stderr.write(`${name}: ${JSON.stringify(times)}\n`);
    };
    const report = (key: string, body: string) => async (t: Target) => {
      const r = await ok(t, 'REPORT', t.calendar, body, { depth: '1', 'content-type': 'application/xml' });
      // Radicale 3.1.8 has no free-busy-query: it answers 207 listing every object, unfiltered.
      if (key === 'free-busy' && !r.body.includes('BEGIN:VFREEBUSY')) noFreeBusy.add(t.label);
      (found[key] ??= {})[t.label] = key === 'free-busy' ? (r.body.match(/^FREEBUSY/gm) ?? []).length : responses(r.body);
      if (key === 'sync') names[t.label] = hrefs(r.body);
    };
    await measure('REPORT sync-collection from scratch, ms', report('sync', SYNC));
    await measure('REPORT calendar-query, one month, ms', report('query', QUERY));
    await measure('REPORT free-busy-query, one month, ms', report('free-busy', FREEBUSY));
    await measure(`GET ${SINGLE} events one by one, ms`, async (t, r) => {
      const list = names[t.label]!;
      for (let k = 0; k < SINGLE; k++) await ok(t, 'GET', list[((r + 1) * SINGLE + k) % list.length]!);
    });
    await measure('PROPFIND Depth 1 of the calendar, ms', async (t) => {
      await ok(t, 'PROPFIND', t.calendar, PROPFIND, { depth: '1', 'content-type': 'application/xml' });
    });

    const counts = Object.entries(found)
      .map(([k, v]) => `${k} ${v.Fingerpost} / ${v.Radicale}`)
      .join('; ');
    process.stdout.write(`answered (Fingerpost / Radicale): ${counts} (free-busy: FREEBUSY lines)\n\n`);
    process.stdout.write('| operation | Fingerpost | Radicale | Radicale / Fingerpost |\n|---|---:|---:|---:|\n');
    for (const [name, f, r] of rows)
      process.stdout.write(
        name.includes('free-busy') && noFreeBusy.has('Radicale')
          ? `| ${name} | ${f.toFixed(0)} | no VFREEBUSY (${r.toFixed(0)} ms for a 207 listing every object) | — |\n`
          : `| ${name} | ${f.toFixed(0)} | ${r.toFixed(0)} | ${(r / f).toFixed(2)} |\n`,
      );
    for (const t of targets) t.agent.destroy();

    // Fingerpost only: does a month query over the big calendar hold other requests up?
    if (BIG > 0) {
      const big = fpTarget('/dav/calendars/b@bench.test/big/');
      const pinger = fpTarget('/dav/principals/b@bench.test/');
      const loop = async () => {
        fp.stdin!.write('loop\n');
        return JSON.parse(await nextLine()) as { p50: number; p99: number; max: number };
      };
      process.stdout.write(`\n${BIG}-event calendar, Fingerpost only (one PROPFIND Depth 0 client beside one REPORT client):\n\n`);
      process.stdout.write(
        '| round | REPORT ms | objects | PROPFINDs (resets) | PROPFIND p50 ms | p99 ms | max ms | loop delay p50 / p99 / max ms |\n',
      );
      process.stdout.write('|---|---:|---:|---:|---:|---:|---:|---|\n');
      for (let r = 0; r < ROUNDS; r++) {
        await loop();
        let stop = false;
        const pings: number[] = [];
        let resets = 0;
        let failure = '';
        const ping = (async () => {
          while (!stop) {
            const t1 = performance.now();
            // A kept-alive socket the server has just closed resets; that request is sent again (and counted).
            for (let attempt = 0; ; attempt++) {
              try {
                await ok(pinger, 'PROPFIND', pinger.calendar, PROPFIND, { depth: '0', 'content-type': 'application/xml' });
                break;
              } catch (e) {
                if (attempt > 2 || (e as NodeJS.ErrnoException).code !== 'ECONNRESET') {
                  failure = `${(e as Error).message} after ${pings.length} PROPFINDs`;
                  stop = true;
                  break;
                }
                resets++;
              }
            }
            pings.push(performance.now() - t1);
          }
        })();
        t0 = performance.now();
        const res = await ok(big, 'REPORT', big.calendar, QUERY, { depth: '1', 'content-type': 'application/xml' }, [207, 507]).catch(
          (e: Error) => {
            throw new Error(`the REPORT over ${BIG} events failed after ${(performance.now() - t0).toFixed(0)} ms: ${e.message}`);
          },
        );
        const ms = performance.now() - t0;
        stop = true;
        await ping;
        const l = await loop();
        if (failure) process.stdout.write(`round ${r + 1}: the PROPFIND client failed: ${failure}\n`);
        process.stdout.write(
          `| ${r + 1} | ${ms.toFixed(0)} | ${res.status === 507 ? '507 too many matches' : responses(res.body)} | ${pings.length} (${resets}) | ${quantile(pings, 0.5).toFixed(1)} | ` +
            `${quantile(pings, 0.99).toFixed(1)} | ${Math.max(...pings).toFixed(0)} | ${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} / ${l.max.toFixed(0)} |\n`,
        );
      }
      big.agent.destroy();
      pinger.agent.destroy();
    }
  } finally {
    for (const c of children) {
      if (c.stdin) c.stdin.end();
      else c.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { startTestServer } = await import('../test/helpers/server.ts');
  const srv = await startTestServer({ domain: 'bench.test' });
  const { account } = await srv.services.accounts.addUser({ address: 'b@bench.test', password: PASSWORD });
  let t0 = performance.now();
  // In slices of 20,000 events: one import text stays under calendar.max_ics_bytes.
  const seed = async (name: string, n: number) => {
    for (let from = 0; from < n; from += 20_000)
      await srv.services.calendar.importIcs(account, name, calendarText(from, Math.min(n, from + 20_000)));
  };
  await seed('bench', arg('events', 10_000));
  const seedMs = performance.now() - t0;
  t0 = performance.now();
  const big = arg('big', 100_000);
  await seed('big', big);
  const bigMs = performance.now() - t0;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.stdout.write(`${JSON.stringify({ base: srv.baseUrl, ca: srv.caFile, seedMs, bigMs })}\n`);
  // Each `loop` line from the parent: the loop delay since the previous one, in ms.
  const input = createInterface({ input: process.stdin });
  input.on('line', () => {
    const ms = (ns: number) => ns / 1e6;
    process.stdout.write(`${JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) })}\n`);
    delay.reset();
  });
  input.on('close', () => void srv.close().then(() => process.exit(0)));
} else await main();
