// CalDAV against Radicale (Debian `radicale`) on the same machine, both over TLS with Basic auth and
// kept-alive connections where the server keeps them (Radicale closes each one), one interleaved run: for each operation the rounds alternate between the
// two servers (order swapped every round). Operations: PUT and GET of single events, REPORT
// calendar-query with a one-month time range, sync-collection from scratch, and PROPFIND Depth 1 of
// the calendar, over a calendar of --events events (20% weekly recurring). Prints medians and the
// ratio Radicale time / Fingerpost time (above 1: Fingerpost is faster).
//
//   ./node_modules/.bin/node bench/dav.ts [--events 2000] [--rounds 7] [--single 200]
//
// Fingerpost runs in a child process (this script with --serve) so the client does not share its loop.
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

function eventText(i: number): string {
  const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000 + (i % 9) * 3_600_000);
  const stamp = day
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return (
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n' +
    `UID:e${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${stamp}\r\nDURATION:PT45M\r\n` +
    `${i % 5 === 0 ? 'RRULE:FREQ=WEEKLY;COUNT=20\r\n' : ''}SUMMARY:event ${i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`
  );
}

const QUERY =
  '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>' +
  '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260601T000000Z" end="20260701T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>';
const SYNC =
  '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>';
const PROPFIND = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const EVENTS = arg('events', 2000);
  const ROUNDS = arg('rounds', 7);
  const SINGLE = arg('single', 200);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fp-bench-dav-'));
  const children: ChildProcess[] = [];
  try {
    // Radicale over TLS with a self-signed certificate and a plain htpasswd file.
    const { certFile: cert, keyFile: key } = selfSignedCertificate(tmp);
    writeFileSync(path.join(tmp, 'users'), `b:${PASSWORD}\n`);
    mkdirSync(path.join(tmp, 'collections'));
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
        `filesystem_folder = ${path.join(tmp, 'collections')}`,
        '[rights]',
        'type = owner_only',
        '[logging]',
        'level = warning',
        '',
      ].join('\n'),
    );
    const radicale = spawn('radicale', ['--config', path.join(tmp, 'radicale.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(radicale);

    const fp = spawn(process.execPath, [import.meta.filename, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(fp);
    const line = await new Promise<string>((resolve) => createInterface({ input: fp.stdout! }).once('line', resolve));
    const info = JSON.parse(line) as { base: string; ca: string };
    await waitForPort(rport, radicale, () => 'see its log above');

    const fpUrl = new URL(info.base);
    const targets: Target[] = [
      {
        label: 'Fingerpost',
        host: '127.0.0.1',
        port: Number(fpUrl.port),
        agent: new https.Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(info.ca, 'utf8'), servername: 'localhost' }),
        auth: `Basic ${Buffer.from(`b@bench.test:${PASSWORD}`).toString('base64')}`,
        calendar: '/dav/calendars/b@bench.test/bench/',
      },
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
    const mk = '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"/>';
    for (const t of targets) {
      if (t.label === 'Radicale') await ok(t, 'PROPFIND', '/b/', PROPFIND, { depth: '0' }, [207, 404]);
      await ok(t, 'MKCALENDAR', t.calendar, mk, { 'content-type': 'application/xml' });
    }

    // Loading the calendar is itself the first measurement (PUT, 4 at a time), interleaved in slices.
    const load: Record<string, number> = { Fingerpost: 0, Radicale: 0 };
    const SLICE = 250;
    for (let from = 0; from < EVENTS; from += SLICE) {
      for (const t of from % (2 * SLICE) === 0 ? targets : [...targets].reverse()) {
        const t0 = performance.now();
        const ids = Array.from({ length: Math.min(SLICE, EVENTS - from) }, (_, k) => from + k);
        for (let k = 0; k < ids.length; k += 4)
          await Promise.all(
            ids.slice(k, k + 4).map((i) => ok(t, 'PUT', `${t.calendar}e${i}.ics`, eventText(i), { 'content-type': 'text/calendar' })),
          );
        load[t.label]! += performance.now() - t0;
      }
    }
    process.stdout.write(`loaded ${EVENTS} events (${EVENTS / 5} weekly recurring) into each server\n\n`);
    const rows: Array<[string, number, number]> = [];
    rows.push([`PUT ${EVENTS} events (4 in flight), ms total`, load.Fingerpost!, load.Radicale!]);

    const measure = async (name: string, once: (t: Target, round: number) => Promise<unknown>) => {
      const times: Record<string, number[]> = { Fingerpost: [], Radicale: [] };
      for (let r = 0; r < ROUNDS; r++)
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          const t0 = performance.now();
          await once(t, r);
          times[t.label]!.push(performance.now() - t0);
        }
      rows.push([name, median(times.Fingerpost!), median(times.Radicale!)]);
    };
    await measure(`PUT ${SINGLE} new events one by one, ms`, async (t, r) => {
      for (let k = 0; k < SINGLE; k++)
        await ok(t, 'PUT', `${t.calendar}n${r}-${k}.ics`, eventText(EVENTS + r * SINGLE + k).replace(/UID:e\d+/, `UID:n${r}-${k}`), {
          'content-type': 'text/calendar',
        });
    });
    await measure(`GET ${SINGLE} events one by one, ms`, async (t, r) => {
      for (let k = 0; k < SINGLE; k++) await ok(t, 'GET', `${t.calendar}e${(r * SINGLE + k) % EVENTS}.ics`);
    });
    let found: Record<string, number> = {};
    await measure('REPORT calendar-query, one month, ms', async (t) => {
      const r = await ok(t, 'REPORT', t.calendar, QUERY, { depth: '1', 'content-type': 'application/xml' });
      found[t.label] = (r.body.match(/<[a-zA-Z]*:?response>/g) ?? []).length;
    });
    const foundQuery = found;
    found = {};
    await measure('REPORT sync-collection from scratch, ms', async (t) => {
      const r = await ok(t, 'REPORT', t.calendar, SYNC, { depth: '1', 'content-type': 'application/xml' });
      found[t.label] = (r.body.match(/<[a-zA-Z]*:?response>/g) ?? []).length;
    });
    const foundSync = found;
    await measure('PROPFIND Depth 1 of the calendar, ms', async (t) => {
      await ok(t, 'PROPFIND', t.calendar, PROPFIND, { depth: '1', 'content-type': 'application/xml' });
    });

    process.stdout.write(
      `calendar-query answered ${foundQuery.Fingerpost} / ${foundQuery.Radicale} objects; sync-collection ${foundSync.Fingerpost} / ${foundSync.Radicale}\n\n`,
    );
    process.stdout.write('| operation | Fingerpost | Radicale | Radicale / Fingerpost |\n|---|---:|---:|---:|\n');
    for (const [name, f, r] of rows) process.stdout.write(`| ${name} | ${f.toFixed(0)} | ${r.toFixed(0)} | ${(r / f).toFixed(2)} |\n`);
    for (const t of targets) t.agent.destroy();
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
  const { startTestServer } = await import('../test/helpers/server.ts');
  const srv = await startTestServer({ domain: 'bench.test' });
  await srv.services.accounts.addUser({ address: 'b@bench.test', password: PASSWORD });
  process.stdout.write(`${JSON.stringify({ base: srv.baseUrl, ca: srv.caFile })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void srv.close().then(() => process.exit(0)));
} else await main();
