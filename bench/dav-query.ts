// CalDAV calendar-query over a large calendar: 10,000 events (20% weekly recurring) imported into
// one calendar, then REPORT calendar-query with a one-month time range through curl, while a
// second client measures PROPFIND round-trips on the same node (does the report hold the loop?).
// Prints the figures. Run: npx node bench/dav-query.ts [--events 10000] [--runs 5]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestServer } from '../test/helpers/server.ts';

const exec = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const EVENTS = arg('events', 10_000);
const RUNS = arg('runs', 5);
const PASSWORD = 'correct horse battery staple';

const srv = await startTestServer({ domain: 'bench.test' });
try {
  const account = (await srv.services.accounts.addUser({ address: 'b@bench.test', password: PASSWORD })).account;
  const parts: string[] = ['BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n'];
  for (let i = 0; i < EVENTS; i++) {
    const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000 + (i % 9) * 3_600_000);
    const stamp = day
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    parts.push(
      `BEGIN:VEVENT\r\nUID:e${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${stamp}\r\nDURATION:PT45M\r\n${i % 5 === 0 ? 'RRULE:FREQ=WEEKLY;COUNT=20\r\n' : ''}SUMMARY:event ${i}\r\nEND:VEVENT\r\n`,
    );
  }
  parts.push('END:VCALENDAR\r\n');
  const t0 = performance.now();
  await srv.services.calendar.importIcs(account, 'default', parts.join(''));
  process.stdout.write(`imported ${EVENTS} events (${EVENTS / 5} recurring) in ${Math.round(performance.now() - t0)} ms\n`);
  const base = [
    '-sS',
    '--cacert',
    srv.caFile,
    '-u',
    `b@bench.test:${PASSWORD}`,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_total} %{size_download}\n',
  ];
  const report = `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260601T000000Z" end="20260701T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;
  const url = `${srv.baseUrl}/dav/calendars/b@bench.test/default/`;
  for (let r = 0; r < RUNS; r++) {
    let stop = false;
    const pings: number[] = [];
    const pinger = (async () => {
      while (!stop) {
        const { stdout } = await exec('curl', [...base, '-X', 'PROPFIND', '-H', 'Depth: 0', `${srv.baseUrl}/dav/principals/b@bench.test/`]);
        pings.push(Number(stdout.split(' ')[1]) * 1000);
      }
    })();
    const { stdout } = await exec('curl', [...base, '-X', 'REPORT', '-H', 'Depth: 1', '--data-binary', report, url], {
      maxBuffer: 64 << 20,
    });
    stop = true;
    await pinger;
    const [code, secs, size] = stdout.trim().split(' ');
    pings.sort((a, b) => a - b);
    process.stdout.write(
      `run ${r + 1}: REPORT ${code} in ${Math.round(Number(secs) * 1000)} ms, ${size} bytes; ` +
        `PROPFIND meanwhile: ${pings.length} done, max ${Math.round(pings.at(-1) ?? 0)} ms, median ${Math.round(pings[Math.floor(pings.length / 2)] ?? 0)} ms\n`,
    );
  }
} finally {
  await srv.close();
}
