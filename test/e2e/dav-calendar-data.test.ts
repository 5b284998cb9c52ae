// Narrowed calendar data over the wire (curl): partial retrieval of components and properties
// (RFC 4791 §9.6.1-§9.6.4), limit-recurrence-set (§9.6.6) and limit-freebusy-set (§9.6.7) in
// calendar-query and calendar-multiget reports, and the stored bytes when nothing is narrowed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlHttp } from '../helpers/curl-http.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const USER = 'alice@example.test';
const CAL = `/dav/calendars/${USER}/mixed/`;
const MKCALENDAR =
  '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VFREEBUSY"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>';

const WEEKLY = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//test//EN',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20261005T090000Z',
  'DTEND:20261005T093000Z',
  'RRULE:FREQ=WEEKLY;COUNT=10',
  'SUMMARY:Standup',
  'DESCRIPTION:Daily words',
  'LOCATION:Room 1',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20260101T000000Z',
  'RECURRENCE-ID:20261012T090000Z',
  'DTSTART:20261012T100000Z',
  'DTEND:20261012T103000Z',
  'SUMMARY:Standup moved in October',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20261101T000000Z',
  'RECURRENCE-ID:20261102T090000Z',
  'DTSTART:20261102T110000Z',
  'DTEND:20261102T113000Z',
  'SUMMARY:Standup moved in November',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

const FREEBUSY = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//test//EN',
  'BEGIN:VFREEBUSY',
  'UID:fb',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20261001T000000Z',
  'DTEND:20261201T000000Z',
  'FREEBUSY:20261005T090000Z/20261005T100000Z,20261102T090000Z/20261102T100000Z',
  'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261020T090000Z/PT1H',
  'END:VFREEBUSY',
  'END:VCALENDAR',
  '',
].join('\r\n');

const report = (calendarData: string, filter = '<C:comp-filter name="VCALENDAR"/>') =>
  `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>${calendarData}</D:prop><C:filter>${filter}</C:filter></C:calendar-query>`;

const xmlText = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#13;/g, '\r')
    .replace(/&amp;/g, '&');

describe('calendar-data narrowing (RFC 4791 §9.6)', { skip: commandSkip('curl', 'curl') }, () => {
  let t: TestServer;
  let tmp: string;
  const curl = (method: string, p: string, body?: string, headers: Record<string, string> = {}) =>
    curlHttp(
      t.caFile,
      tmp,
      ['-X', method, '-u', `${USER}:${PASSWORD}`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${t.baseUrl}${p}`],
      body,
    );
  /** The calendar-data of each object in a REPORT answer, by href's last segment. */
  const dataOf = async (body: string) => {
    const r = await curl('REPORT', CAL, body, { depth: '1', 'content-type': 'application/xml' });
    assert.equal(r.status, 207, r.body);
    const out: Record<string, string> = {};
    for (const m of r.body.matchAll(/<D:href>[^<]*\/([^/<]+)<\/D:href>.*?<C:calendar-data[^>]*>([\s\S]*?)<\/C:calendar-data>/g))
      out[m[1]!] = xmlText(m[2]!);
    return out;
  };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-caldata-'));
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: USER, password: PASSWORD });
    // VFREEBUSY objects need a calendar that takes them (RFC 4791 §5.2.3).
    assert.equal((await curl('MKCALENDAR', CAL, MKCALENDAR, { 'content-type': 'application/xml' })).status, 201);
    for (const [name, body] of [
      ['weekly.ics', WEEKLY],
      ['fb.ics', FREEBUSY],
    ] as const)
      assert.equal((await curl('PUT', `${CAL}${name}`, body, { 'content-type': 'text/calendar' })).status, 201);
  });

  after(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('without narrowing, the stored bytes', async () => {
    const data = await dataOf(report('<C:calendar-data/>'));
    assert.equal(data['weekly.ics'], WEEKLY);
    assert.equal(data['fb.ics'], FREEBUSY);
  });

  it('partial retrieval: only the named components and properties, novalue emptied', async () => {
    const sel =
      '<C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="UID"/><C:prop name="SUMMARY"/><C:prop name="RECURRENCE-ID"/><C:prop name="LOCATION" novalue="yes"/></C:comp></C:comp></C:calendar-data>';
    const weekly = (await dataOf(report(sel)))['weekly.ics']!;
    assert.match(
      weekly,
      /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\nBEGIN:VEVENT\r\nUID:weekly\r\nSUMMARY:Standup\r\nLOCATION:\r\nEND:VEVENT\r\n/,
    );
    assert.doesNotMatch(weekly, /PRODID|DTSTART|RRULE|DESCRIPTION|DTSTAMP/);
    assert.equal(weekly.match(/BEGIN:VEVENT/g)?.length, 3);
    // VFREEBUSY was not named: the object has no component left but the calendar.
    assert.doesNotMatch((await dataOf(report(sel)))['fb.ics']!, /VFREEBUSY/);
  });

  it('limit-recurrence-set keeps the master and the overrides touching the range', async () => {
    const data = await dataOf(
      report('<C:calendar-data><C:limit-recurrence-set start="20261101T000000Z" end="20261108T000000Z"/></C:calendar-data>'),
    );
    const weekly = data['weekly.ics']!;
    assert.match(weekly, /RRULE:FREQ=WEEKLY;COUNT=10/);
    assert.match(weekly, /SUMMARY:Standup moved in November/);
    assert.doesNotMatch(weekly, /October/);
    assert.equal(weekly.match(/BEGIN:VEVENT/g)?.length, 2);
  });

  it('limit-freebusy-set keeps only the periods overlapping the range', async () => {
    const data = await dataOf(
      report('<C:calendar-data><C:limit-freebusy-set start="20261101T000000Z" end="20261108T000000Z"/></C:calendar-data>'),
    );
    const fb = data['fb.ics']!;
    assert.match(fb, /FREEBUSY:20261102T090000Z\/20261102T100000Z\r\n/);
    assert.doesNotMatch(fb, /20261005T090000Z|BUSY-TENTATIVE/);
  });

  it('a limit without a valid range is 400 valid-filter', async () => {
    const r = await curl('REPORT', CAL, report('<C:calendar-data><C:limit-recurrence-set start="tomorrow"/></C:calendar-data>'), {
      depth: '1',
      'content-type': 'application/xml',
    });
    assert.equal(r.status, 400);
    assert.match(r.body, /valid-filter/);
  });
});
