// Free/busy speed: a 30-day query over HTTPS for an account with 10,000 events of which a fifth
// recur (daily, weekday, weekly, monthly rules; time zones; EXDATEs and overrides), and the
// federated round trip on loopback (alice@one.test asks her server, which signs an assertion and
// asks two.test, which finds one.test's issuer and keys through WebFinger and answers).
// Both servers run in this process (one event loop), on SQLite in temporary directories.
//
//   ./node_modules/.bin/node bench/freebusy.ts [--events 10000] [--recurring 0.2] [--runs 20]
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { resourceIds, SCOPES } from '../src/config/resources.ts';
import { ensureLocalTls } from '../src/net/local-ca.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { startTestServer } from '../test/helpers/server.ts';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    recurring: { type: 'string', default: '0.2' },
    runs: { type: 'string', default: '20' },
  },
});
const EVENTS = Number(args.events);
const RECURRING = Math.round(EVENTS * Number(args.recurring));
const RUNS = Number(args.runs);

// A seeded generator so every run builds the same calendar.
let seed = 20261102;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const pad = (n: number) => String(n).padStart(2, '0');
const icalDate = (d: Date) =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}00`;

/** 10,000 events spread over 2026 (the query month is November); recurring ones started during the year. */
function calendarText(): string {
  const zones = ['Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Tokyo'];
  const out = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//bench//EN'];
  const yearStart = Date.UTC(2026, 0, 1);
  for (let i = 0; i < EVENTS; i++) {
    const day = new Date(yearStart + Math.floor(rnd() * 365) * 86_400_000);
    day.setUTCHours(8 + Math.floor(rnd() * 9), pick([0, 15, 30, 45]));
    const zone = pick(zones);
    const start = zone === 'UTC' ? `DTSTART:${icalDate(day)}Z` : `DTSTART;TZID=${zone}:${icalDate(day)}`;
    const lines = ['BEGIN:VEVENT', `UID:bench-${i}`, 'DTSTAMP:20260101T000000Z', start, `DURATION:PT${pick([30, 45, 60, 90])}M`];
    if (i < RECURRING) {
      const rule = pick([
        'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR',
        'FREQ=WEEKLY',
        'FREQ=WEEKLY;BYDAY=MO,TH',
        'FREQ=WEEKLY;INTERVAL=2',
        'FREQ=MONTHLY;BYDAY=1TU',
        'FREQ=DAILY;COUNT=30',
      ]);
      // Recurring series start in the first ten months so most reach into November.
      lines[3] = lines[3]!.replace(/:(\d{4})(\d{2})/, (_m, y, mo) => `:${y}${pad(Math.min(Number(mo), 10))}`);
      lines.push(`RRULE:${rule}`);
      const hhmm = `${pad(day.getUTCHours())}${pad(day.getUTCMinutes())}`;
      if (rnd() < 0.3) lines.push(zone === 'UTC' ? `EXDATE:20261104T${hhmm}00Z` : `EXDATE;TZID=${zone}:20261104T${hhmm}00`);
      if (rnd() < 0.2) lines.push('STATUS:TENTATIVE');
    } else if (rnd() < 0.05) {
      lines.push('TRANSP:TRANSPARENT');
    }
    lines.push('END:VEVENT');
    out.push(...lines);
  }
  out.push('END:VCALENDAR', '');
  return out.join('\r\n');
}

const ms = (t: bigint) => Number(t) / 1e6;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, p95 ${s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!.toFixed(1)} ms, min ${s[0]!.toFixed(1)} ms`;
};

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-fb-'));
const ports = await freePorts(2);
const dirs = ['one', 'two'].map((n) => path.join(tmp, n));
const tls = await Promise.all(dirs.map((d, i) => ensureLocalTls(d, [['one.test', 'two.test'][i]!])));
const bundle = path.join(tmp, 'cas.pem');
await writeFile(bundle, (await Promise.all(tls.map((t) => readFile(t.caCert, 'utf8')))).join('\n'));
const resolve = [`one.test=127.0.0.1:${ports[0]}`, `two.test=127.0.0.1:${ports[1]}`];
const overrides = (host: string, port: number) => ({ server: { hostname: host }, http: { port }, calendar: { resolve, ca_file: bundle } });
const one = await startTestServer({ dataDir: dirs[0], domain: 'one.test', overrides: overrides('one.test', ports[0]!) });
const two = await startTestServer({ dataDir: dirs[1], domain: 'two.test', overrides: overrides('two.test', ports[1]!) });

try {
  await one.services.accounts.addUser({ address: 'alice@one.test', password: 'bench password 1' });
  const bob = (await two.services.accounts.addUser({ address: 'bob@two.test', password: 'bench password 2' })).account;
  const carol = (await two.services.accounts.addUser({ address: 'carol@two.test', password: 'bench password 3' })).account;
  for (const a of [bob, carol]) await two.services.calendar.store.setSharing(a.id, { policy: 'list', allow: ['one.test'] });
  await two.services.calendar.importIcs(
    carol,
    'default',
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261102T090000Z\r\nDTEND:20261102T100000Z\r\nRRULE:FREQ=DAILY;COUNT=10\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
  );

  const text = calendarText();
  let t = process.hrtime.bigint();
  const imported = await two.services.calendar.importIcs(bob, 'default', text);
  const importMs = ms(process.hrtime.bigint() - t);
  console.log(
    `calendar: ${imported.objects} events (${RECURRING} recurring), ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB of iCalendar; import ${(importMs / 1000).toFixed(1)} s`,
  );

  const token = (
    await two.services.idp.issueAdminToken({
      address: 'bob@two.test',
      resources: [resourceIds(two.config).calendar],
      scopes: [SCOPES.calendars],
      ttlMs: 3_600_000,
    })
  ).token;
  const curlArgs = [
    '-sS',
    '--fail',
    '--cacert',
    bundle,
    '--resolve',
    `two.test:${ports[1]}:127.0.0.1`,
    '--resolve',
    `one.test:${ports[0]}:127.0.0.1`,
  ];
  const month = 'start=2026-11-01T00:00:00Z&end=2026-12-01T00:00:00Z';
  const fbUrl = `https://two.test:${ports[1]}/freebusy/bob@two.test?${month}`;
  // Direct (in-process) timing of the computation, then over HTTPS with curl's own timer.
  const range = { start: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2026-12-01T00:00:00Z') };
  t = process.hrtime.bigint();
  const first = await two.services.calendar.freeBusy(bob, range);
  const coldMs = ms(process.hrtime.bigint() - t);
  const direct: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = process.hrtime.bigint();
    await two.services.calendar.freeBusy(bob, range);
    direct.push(ms(process.hrtime.bigint() - t));
  }
  console.log(
    `30-day free/busy, computed: first ${coldMs.toFixed(1)} ms (parses the recurring events), then ${stats(direct)}; ${first.busy.length} merged periods${first.truncated ? ' (truncated)' : ''}`,
  );
  const http: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await exec('curl', [
      ...curlArgs,
      '-o',
      '/dev/null',
      '-w',
      '%{time_total}',
      '-H',
      `authorization: Bearer ${token}`,
      '-H',
      'accept: text/calendar',
      fbUrl,
    ]);
    http.push(Number(stdout) * 1000);
  }
  console.log(`30-day free/busy over HTTPS (curl, new TLS connection each, bearer token): ${stats(http)}`);

  const basic = `Basic ${Buffer.from('alice@one.test:bench password 1').toString('base64')}`;
  const ask = async (attendee: string) => {
    const { stdout } = await exec('curl', [
      ...curlArgs,
      '-o',
      '/dev/null',
      '-w',
      '%{time_total}',
      '-H',
      `authorization: ${basic}`,
      '-H',
      'content-type: application/json',
      '--data-binary',
      JSON.stringify({ attendees: [attendee], start: '2026-11-01T00:00:00Z', end: '2026-12-01T00:00:00Z' }),
      `https://one.test:${ports[0]}/calendar/availability`,
    ]);
    return Number(stdout) * 1000;
  };
  const firstFed = await ask('carol@two.test');
  const fed: number[] = [];
  for (let i = 0; i < RUNS; i++) fed.push(await ask('carol@two.test'));
  console.log(
    `federated round trip (alice@one.test -> one.test -> two.test, small calendar): first ${firstFed.toFixed(1)} ms (WebFinger, issuer metadata, JWKS), then ${stats(fed)}`,
  );
  const big: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 10); i++) big.push(await ask('bob@two.test'));
  console.log(`federated round trip for the ${EVENTS.toLocaleString('en-US')}-event calendar: ${stats(big)}`);
} finally {
  await one.close();
  await two.close();
  await rm(tmp, { recursive: true, force: true });
}
