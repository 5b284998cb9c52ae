// Calendars over HTTPS on a running node: .ics PUT/GET/DELETE, free/busy for the owner, local users
// and anonymous askers under the sharing rules, bad input, with curl and Python's icalendar as peers.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ICAL from 'ical.js';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { type CurlReply, curlHttp, icsEvent } from '../helpers/curl-http.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const curlSkip = commandSkip('curl', 'curl');
// Debian's python3-icalendar lives in the system Python, which may not be the first python3 on PATH.
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const pyIcalSkip = peerSkip(
  'python3-icalendar',
  spawnSync(PY, ['-c', 'import icalendar'], { stdio: 'ignore' }).status === 0,
  'apt-get install python3-icalendar',
);

const PASSWORD = 'correct horse battery staple';

const event = icsEvent;

describe('calendar HTTP endpoints', { skip: curlSkip }, () => {
  let srv: TestServer;
  let dir: string;

  /** curl with the test CA; returns status, headers and body. */
  const curl = (args: string[], body?: string): Promise<CurlReply> => curlHttp(srv.caFile, dir, args, body);
  const as = (user: string) => ['-u', `${user}:${PASSWORD}`];
  const url = (p: string) => `${srv.baseUrl}${p}`;
  const fb = (who: string, query = 'start=2026-11-02T00:00:00Z&end=20261103T000000Z') => url(`/freebusy/${who}?${query}`);

  before(async () => {
    srv = await startTestServer({ domain: 'example.test' });
    dir = srv.dataDir;
    for (const u of ['bob', 'carol']) await srv.services.accounts.addUser({ address: `${u}@example.test`, password: PASSWORD });
    await srv.services.accounts.addDomain('other.test');
    await srv.services.accounts.addUser({ address: 'dave@other.test', password: PASSWORD });
  });
  after(() => srv?.close());

  it('PUT stores an object (201 + ETag), GET returns it, a conditional PUT replaces it, DELETE removes it', async () => {
    const target = url('/calendar/bob@example.test/default/standup.ics');
    const ics = event(
      'standup',
      'DTSTART;TZID=Europe/Berlin:20261102T090000',
      'DTEND;TZID=Europe/Berlin:20261102T093000',
      'RRULE:FREQ=DAILY;COUNT=5',
    );
    const put = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', 'if-none-match: *', target],
      ics,
    );
    assert.equal(put.status, 201, put.body);
    const etag = put.headers.etag!;
    assert.match(etag, /^"/);
    const get = await curl([...as('bob@example.test'), target]);
    assert.equal(get.status, 200);
    assert.match(get.headers['content-type']!, /^text\/calendar/);
    assert.match(get.body, /RRULE:FREQ=DAILY;COUNT=5/);
    assert.equal((await curl([...as('bob@example.test'), '-H', `if-none-match: ${etag}`, target])).status, 304);
    const stale = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', 'if-match: "nope"', target],
      ics,
    );
    assert.equal(stale.status, 412);
    const again = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', `if-match: ${etag}`, target],
      ics.replace('COUNT=5', 'COUNT=3'),
    );
    assert.equal(again.status, 204);
    // Another user cannot touch bob's calendar home.
    assert.equal((await curl([...as('carol@example.test'), target])).status, 404);
    const other = url('/calendar/bob@example.test/default/gone.ics');
    await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', other],
      event('gone', 'DTSTART:20261102T150000Z', 'DTEND:20261102T160000Z'),
    );
    assert.equal((await curl([...as('bob@example.test'), '-X', 'DELETE', other])).status, 204);
    assert.equal((await curl([...as('bob@example.test'), other])).status, 404);
  });

  it('malformed iCalendar is refused with the line and stores nothing', async () => {
    const target = url('/calendar/bob@example.test/default/bad.ics');
    const bad = event('bad', 'DTSTART:20261102T090000Z', 'RRULE:FREQ=DAILY;COUNT=0');
    const r = await curl([...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', target], bad);
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = JSON.parse(r.body);
    assert.equal(problem.line, 8);
    assert.match(problem.detail, /line 8: RRULE is invalid: COUNT must be a positive integer/);
    assert.equal((await curl([...as('bob@example.test'), target])).status, 404);
    const notIcs = await curl([...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/plain', target], 'hello');
    assert.equal(notIcs.status, 415);
  });

  it('the owner sees free/busy as VFREEBUSY (read by ical.js) and JSON, DST-correct', async () => {
    const r = await curl([...as('bob@example.test'), fb('bob@example.test', 'start=2026-10-24T00:00:00Z&end=2026-11-05T00:00:00Z')]);
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type']!, /^text\/calendar/);
    const vfb = new ICAL.Component(ICAL.parse(r.body) as unknown as unknown[]).getFirstSubcomponent('vfreebusy')!;
    const periods = vfb.getAllProperties('freebusy').map((p) => (p.getFirstValue() as ICAL.Period).start.toString());
    // 09:00 Berlin is 08:00Z after the October change; COUNT=3 from the conditional PUT.
    assert.deepEqual(periods, ['2026-11-02T08:00:00Z', '2026-11-03T08:00:00Z', '2026-11-04T08:00:00Z']);
    const json = await curl([...as('bob@example.test'), '-H', 'accept: application/json', fb('bob@example.test')]);
    assert.equal(json.status, 200);
    assert.deepEqual(JSON.parse(json.body), {
      account: 'bob@example.test',
      start: '2026-11-02T00:00:00Z',
      end: '2026-11-03T00:00:00Z',
      busy: [{ start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:30:00Z', type: 'BUSY' }],
      truncated: false,
    });
    assert.equal((await curl([...as('bob@example.test'), '-H', 'accept: image/png', fb('bob@example.test')])).status, 406);
    // Accept (RFC 9110 §12.5.1): wildcard subtypes, q values, and the most specific range deciding.
    for (const [accept, type] of [
      ['application/*', 'application/json'],
      ['text/calendar;q=0.1, application/json;q=0.9', 'application/json'],
      ['application/json;q=0.1, text/calendar', 'text/calendar'],
      ['text/calendar;q=0, */*', 'application/json'],
      ['*/*', 'text/calendar'],
      ['text/*, application/json', 'application/json'],
      ['application/json;q=0, */*', 'text/calendar'],
    ] as const) {
      const r = await curl([...as('bob@example.test'), '-H', `accept: ${accept}`, fb('bob@example.test')]);
      assert.equal(r.status, 200, `${accept}: ${r.body}`);
      assert.match(r.headers['content-type']!, new RegExp(`^${type}`), accept);
    }
    const none = await curl([...as('bob@example.test'), '-H', 'accept: text/calendar;q=0, application/json;q=0', fb('bob@example.test')]);
    assert.equal(none.status, 406);
  });

  it('VFREEBUSY output is read by Python icalendar', { skip: pyIcalSkip }, async () => {
    const r = await curl([...as('bob@example.test'), fb('bob@example.test', 'start=20261102T000000Z&end=20261105T000000Z')]);
    const script = `
import sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.read())
for c in cal.walk('VFREEBUSY'):
    fbs = c.get('FREEBUSY')
    fbs = fbs if isinstance(fbs, list) else [fbs]
    print(c.get('ORGANIZER'), c.decoded('DTSTART').isoformat())
    for fb in fbs:
        start, end = fb.start, fb.end
        print(fb.params.get('FBTYPE'), start.isoformat(), end.isoformat())
`;
    const out = spawnSync(PY, ['-c', script], { input: r.body, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split('\n'), [
      'mailto:bob@example.test 2026-11-02T00:00:00+00:00',
      'BUSY 2026-11-02T08:00:00+00:00 2026-11-02T08:30:00+00:00',
      'BUSY 2026-11-03T08:00:00+00:00 2026-11-03T08:30:00+00:00',
      'BUSY 2026-11-04T08:00:00+00:00 2026-11-04T08:30:00+00:00',
    ]);
  });

  it('sharing: others are refused alike until the owner shares; anonymous askers are asked to sign in', async () => {
    const denied = await curl([...as('carol@example.test'), fb('bob@example.test')]);
    const missing = await curl([...as('carol@example.test'), fb('nobody@example.test')]);
    assert.equal(denied.status, 404);
    assert.deepEqual([missing.status, missing.body], [denied.status, denied.body], 'a denied asker learns nothing about existence');
    const anon = await curl([fb('bob@example.test')]);
    assert.equal(anon.status, 401);
    assert.match(anon.headers['www-authenticate']!, /Basic/);
    const anonMissing = await curl([fb('nobody@example.test')]);
    assert.equal(anonMissing.status, 401);
    // Bob shares with his domain over HTTP; carol may look, dave (other domain) may not.
    const set = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: application/json', url('/freebusy/bob@example.test/sharing')],
      JSON.stringify({ policy: 'domain' }),
    );
    assert.equal(set.status, 200, set.body);
    assert.deepEqual(JSON.parse(set.body), { policy: 'domain', allow: [], source: 'account' });
    assert.equal((await curl([...as('carol@example.test'), fb('bob@example.test')])).status, 200);
    assert.equal((await curl([...as('dave@other.test'), fb('bob@example.test')])).status, 404);
    // Someone else cannot change bob's rule.
    assert.equal(
      (
        await curl(
          [...as('carol@example.test'), '-X', 'PUT', '-H', 'content-type: application/json', url('/freebusy/bob@example.test/sharing')],
          '{"policy":"anyone"}',
        )
      ).status,
      404,
    );
    const bad = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: application/json', url('/freebusy/bob@example.test/sharing')],
      '{"policy":"everyone"}',
    );
    assert.equal(bad.status, 400);
    // A domain default applies once the account rule is cleared; "anyone" opens it to anonymous askers.
    assert.equal((await curl([...as('bob@example.test'), '-X', 'DELETE', url('/freebusy/bob@example.test/sharing')])).status, 200);
    await srv.services.calendar.setDomainDefault('example.test', { policy: 'anyone', allow: [] });
    const open = await curl([fb('bob@example.test')]);
    assert.equal(open.status, 200);
    assert.match(open.headers['cache-control']!, /public/);
    await srv.services.calendar.setDomainDefault('example.test', undefined);
    assert.equal((await curl([fb('bob@example.test')])).status, 401);
  });

  it('a bearer token needs the calendars scope and the calendar audience', async () => {
    const issue = (scopes: string[], resources: string[]) =>
      srv.services.idp.issueAdminToken({ address: 'bob@example.test', resources, scopes, ttlMs: 600_000 }).then((t) => t.token);
    const good = await issue([SCOPES.calendars], [resourceIds(srv.config).calendar]);
    assert.equal((await curl(['-H', `authorization: Bearer ${good}`, fb('bob@example.test')])).status, 200);
    const mailOnly = await issue([SCOPES.mail], [resourceIds(srv.config).calendar]);
    assert.equal((await curl(['-H', `authorization: Bearer ${mailOnly}`, fb('bob@example.test')])).status, 403);
    const wrongAud = await issue([SCOPES.calendars], [resourceIds(srv.config).imap]);
    const r = await curl(['-H', `authorization: Bearer ${wrongAud}`, fb('bob@example.test')]);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate']!, /invalid_token/);
  });

  it('bad ranges are refused: inverted, too long, malformed, missing', async () => {
    for (const [query, pattern] of [
      ['start=20261103T000000Z&end=20261102T000000Z', /inverted/],
      ['start=20260101T000000Z&end=20280101T000000Z', /too long/],
      ['start=yesterday&end=20261102T000000Z', /not an RFC 3339/],
      ['end=20261102T000000Z', /needs a start/],
      ['start=2026-11-02T00:00:00&end=2026-11-03T00:00:00Z', /not an RFC 3339 date-time with a zone/],
      ['start=20261102T000000Z&start=20261101T000000Z&end=20261103T000000Z', /"start" must appear once/],
      ['start=%ZZ&end=20261103T000000Z', /not valid percent-encoding/],
    ] as const) {
      const r = await curl([...as('bob@example.test'), fb('bob@example.test', query)]);
      assert.equal(r.status, 400, query);
      assert.match(JSON.parse(r.body).detail, pattern);
    }
    // An offset typed as is: `+` in a query is a plus (RFC 3986), not a space.
    const offset = await curl([
      ...as('bob@example.test'),
      fb('bob@example.test', 'start=2026-11-02T09:00:00+01:00&end=2026-11-03T00:00:00Z'),
    ]);
    assert.equal(offset.status, 200, offset.body);
  });

  it('an unbounded high-frequency rule is capped and the answer says so', async () => {
    const target = url('/calendar/bob@example.test/default/every-second.ics');
    const put = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', target],
      event('every-second', 'DTSTART:20261110T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY'),
    );
    assert.equal(put.status, 201);
    const r = await curl([
      ...as('bob@example.test'),
      '-H',
      'accept: application/json',
      fb('bob@example.test', 'start=2026-11-10T00:00:00Z&end=2026-12-10T00:00:00Z'),
    ]);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body);
    assert.equal(body.truncated, true);
    // The cap (calendar.max_instances occurrences walked per month of the query): 20000 one-second
    // instances from the start in November, and again from the first of December.
    assert.deepEqual(body.busy[0], { start: '2026-11-10T00:00:00Z', end: '2026-11-10T05:33:20Z', type: 'BUSY' });
    assert.equal(body.busy[1].start, '2026-12-01T00:00:00Z');
    assert.equal(body.busy.length, 2);
    await curl([...as('bob@example.test'), '-X', 'DELETE', target]);
  });

  it('a rule that matches no date is refused with 400 and the server stays responsive', async () => {
    const target = url('/calendar/bob@example.test/default/never.ics');
    const put = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', target],
      event('never', 'DTSTART:20261110T090000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30'),
    );
    assert.equal(put.status, 400, put.body);
    assert.match(JSON.parse(put.body).detail, /cannot be expanded \(RRULE matched none of 100000 candidates in a row/);
    assert.equal((await curl([...as('bob@example.test'), target])).status, 404, 'nothing stored');
    const r = await curl([
      ...as('bob@example.test'),
      '-H',
      'accept: application/json',
      fb('bob@example.test', 'start=2027-01-01T00:00:00Z&end=2027-12-31T00:00:00Z'),
    ]);
    assert.equal(r.status, 200, r.body);
    // Before the guard, ical.js searched for a 30 February until memory ran out, holding the event
    // loop for minutes: the test runner's timeout catches that, the answers above prove the guard.
  });

  it('the asking side merges local attendees and says why others are unknown', async () => {
    await srv.services.calendar.store.setSharing((await srv.services.directory.findByAddress('carol@example.test'))!.id, {
      policy: 'list',
      allow: ['bob@example.test'],
    });
    await curl(
      [
        ...as('carol@example.test'),
        '-X',
        'PUT',
        '-H',
        'content-type: text/calendar',
        url('/calendar/carol@example.test/default/lunch.ics'),
      ],
      event('lunch', 'DTSTART:20261102T080000Z', 'DTEND:20261102T090000Z', 'STATUS:TENTATIVE'),
    );
    const r = await curl(
      [...as('bob@example.test'), '-X', 'POST', '-H', 'content-type: application/json', url('/calendar/availability')],
      JSON.stringify({
        attendees: ['bob@example.test', 'Carol@example.test', 'dave@other.test', 'not-an-address'],
        start: '2026-11-02T07:00:00Z',
        end: '2026-11-02T10:00:00Z',
      }),
    );
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body);
    assert.deepEqual(
      body.attendees.map((a: { address: string; status: string; reason?: string }) => [a.address, a.status, a.reason ?? a.status]),
      [
        ['bob@example.test', 'known', 'known'],
        ['carol@example.test', 'known', 'known'],
        ['dave@other.test', 'unknown', 'not-shared'],
        ['not-an-address', 'unknown', 'invalid-address'],
      ],
    );
    assert.deepEqual(body.busy, [
      { start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:30:00Z', type: 'BUSY' },
      { start: '2026-11-02T08:30:00Z', end: '2026-11-02T09:00:00Z', type: 'BUSY-TENTATIVE' },
    ]);
    assert.deepEqual(body.free, [
      { start: '2026-11-02T07:00:00Z', end: '2026-11-02T08:00:00Z' },
      { start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:00:00Z' },
    ]);
    assert.equal((await curl(['-X', 'POST', '-H', 'content-type: application/json', url('/calendar/availability')], '{}')).status, 401);
  });
});

describe('free/busy rate limit', { skip: curlSkip }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ domain: 'example.test', overrides: { calendar: { rate_limit: 3 } } });
  });
  after(() => srv?.close());

  it('answers 429 with Retry-After once one address asks too often', async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { stdout } = await exec('curl', [
        '-sS',
        '--cacert',
        srv.caFile,
        '-o',
        '/dev/null',
        '-D',
        '-',
        `${srv.baseUrl}/freebusy/bob@example.test?start=20261102T000000Z&end=20261103T000000Z`,
      ]);
      statuses.push(`${stdout.split(' ')[1]}${/retry-after: \d+/i.test(stdout) ? '+retry' : ''}`);
    }
    assert.deepEqual(statuses, ['401', '401', '401', '429+retry', '429+retry']);
  });
});
