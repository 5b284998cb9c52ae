// Scheduling from a calendar app across two domains (RFC 6638, RFC 6047): two Fingerpost servers on
// loopback serve one.test (alice, bob) and two.test (carol), names mapped by calendar.resolve and
// mail routed by queue.routes. python3-caldav, as alice's calendar app, finds her scheduling inbox
// and outbox, asks free/busy for bob (here) and carol (on two.test, through the federation on
// alice's behalf: carol's "my contacts" rule decides), and saves an event inviting both: bob gets
// the REQUEST in his inbox and accepts it from his app, carol gets an iMIP mail. curl checks the
// wire details (DAV header, Schedule-Tag, If-Schedule-Tag-Match, the inbox and outbox refusals).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { curlHttp, icsEvent } from '../helpers/curl-http.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf, waitFor } from './smtp-helpers.ts';

const exec = promisify(execFile);
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const caldavSkip = peerSkip(
  'python3-caldav',
  spawnSync(PY, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0,
  'apt-get install python3-caldav',
);
const PASSWORD = 'correct horse battery staple';
const UID = 'planning-7f3a@one.test';

const busyEvent = (uid: string, start: string, end: string) => icsEvent(uid, `DTSTART:${start}`, `DTEND:${end}`);

const INVITE = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//test//EN',
  'BEGIN:VEVENT',
  `UID:${UID}`,
  'DTSTAMP:20261020T080000Z',
  'DTSTART:20261102T140000Z',
  'DTEND:20261102T150000Z',
  'SUMMARY:Planning',
  'ORGANIZER;CN=Alice:mailto:alice@one.test',
  'ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@one.test',
  'ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@one.test',
  'ATTENDEE;CN=Carol;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@two.test',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('scheduling between two servers', { skip: caldavSkip ?? commandSkip('curl', 'curl') }, () => {
  let tmp: string;
  let bundle: string;
  let one: TestServer;
  let two: TestServer;
  let ports: number[];
  /** The HTTPS port each server was given (the federation needs it known before either starts). */
  const httpsOf = (server: TestServer) => ports[server === one ? 0 : 1]!;

  const py = async (server: TestServer, user: string, ...args: string[]) => {
    const { stdout } = await exec(
      PY,
      [path.join(import.meta.dirname, 'dav-scheduling.py'), `https://localhost:${httpsOf(server)}/`, user, PASSWORD, bundle, ...args],
      { timeout: 60_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  };

  const curl = (server: TestServer, user: string, method: string, p: string, headers: Record<string, string> = {}, body?: string) =>
    curlHttp(
      bundle,
      tmp,
      [
        '-X',
        method,
        '-u',
        `${user}:${PASSWORD}`,
        ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
        `https://localhost:${httpsOf(server)}${p}`,
      ],
      body,
    );

  const freebusy = (...attendees: string[]) =>
    py(one, 'alice@one.test', 'freebusy', '2026-11-02T00:00:00+00:00', '2026-11-03T00:00:00+00:00', ...attendees);

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-sched-'));
    ports = await freePorts(2);
    const dirs = ['one', 'two'].map((n) => path.join(tmp, n));
    const tlsFiles = await Promise.all(dirs.map((d, i) => ensureLocalTls(d, [['one.test', 'two.test'][i]!, 'localhost'])));
    bundle = path.join(tmp, 'cas.pem');
    await writeFile(bundle, (await Promise.all(tlsFiles.map((f) => readFile(f.caCert, 'utf8')))).join('\n'));
    const resolve = [`one.test=127.0.0.1:${ports[0]}`, `two.test=127.0.0.1:${ports[1]}`];
    const overrides = (host: string, port: number) => ({
      server: { hostname: host },
      http: { port },
      calendar: { resolve, ca_file: bundle },
    });
    two = await startTestServer({ dataDir: dirs[1], domain: 'two.test', overrides: overrides('two.test', ports[1]!) });
    one = await startTestServer({
      dataDir: dirs[0],
      domain: 'one.test',
      overrides: {
        ...overrides('one.test', ports[0]!),
        queue: { routes: [`two.test=127.0.0.1:${two.ports.smtp}`], poll_interval: '200ms' },
      },
    });
    for (const u of ['alice', 'bob']) await one.services.accounts.addUser({ address: `${u}@one.test`, password: PASSWORD });
    await two.services.accounts.addUser({ address: 'carol@two.test', password: PASSWORD });
    const bob = (await one.services.directory.findByAddress('bob@one.test'))!;
    const carol = (await two.services.directory.findByAddress('carol@two.test'))!;
    await one.services.calendar.importIcs(bob, 'default', busyEvent('b1', '20261102T090000Z', '20261102T100000Z'));
    await two.services.calendar.importIcs(carol, 'default', busyEvent('c1', '20261102T110000Z', '20261102T120000Z'));
    // bob shares with his domain; carol with "anyone in my contacts".
    await one.services.calendar.store.setSharing(bob.id, { policy: 'domain', allow: [] });
    await two.services.calendar.store.setSharing(carol.id, { policy: 'contacts', allow: [] });
  });

  after(async () => {
    await one?.close();
    await two?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('the principal names the scheduling inbox and outbox and the calendar user address', async () => {
    const r = await py(one, 'alice@one.test', 'principal');
    assert.equal(new URL(r.inbox).pathname, '/dav/calendars/alice@one.test/inbox/');
    assert.equal(new URL(r.outbox).pathname, '/dav/calendars/alice@one.test/outbox/');
    assert.equal(r.addresses[0], 'mailto:alice@one.test');
    // inbox and outbox are not calendars a client would list
    assert.deepEqual(r.calendars, ['default']);
    const options = await curl(one, 'alice@one.test', 'OPTIONS', '/dav/');
    assert.match(options.headers.dav ?? '', /calendar-auto-schedule/);
  });

  it('outbox free/busy: bob here; carol on two.test only once her contacts hold alice', async () => {
    const before = await freebusy('mailto:bob@one.test', 'mailto:carol@two.test', 'mailto:nobody@one.test');
    assert.equal(before.status, 200);
    assert.deepEqual(before.answers['mailto:bob@one.test'], { status: '2.0;Success', busy: ['20261102T090000Z/20261102T100000Z'] });
    assert.deepEqual(before.answers['mailto:carol@two.test'], { status: '3.8;No authority', busy: [] });
    assert.deepEqual(before.answers['mailto:nobody@one.test'], { status: '3.8;No authority', busy: [] });

    // carol adds alice to her address book from her own CardDAV client (which looks at her home first).
    await curl(two, 'carol@two.test', 'PROPFIND', '/dav/addressbooks/carol@two.test/', { depth: '1' });
    const card = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:alice-card', 'FN:Alice', 'EMAIL;TYPE=INTERNET:alice@one.test', 'END:VCARD', ''].join(
      '\r\n',
    );
    const put = await curl(
      two,
      'carol@two.test',
      'PUT',
      '/dav/addressbooks/carol@two.test/contacts/alice.vcf',
      { 'content-type': 'text/vcard' },
      card,
    );
    assert.equal(put.status, 201, put.body);

    const after = await freebusy('mailto:bob@one.test', 'mailto:carol@two.test');
    assert.deepEqual(after.answers['mailto:carol@two.test'], { status: '2.0;Success', busy: ['20261102T110000Z/20261102T120000Z'] });
  });

  it('an event with attendees: bob gets it in his inbox and accepts; carol gets an iMIP mail', async () => {
    const file = path.join(tmp, 'invite.ics');
    await writeFile(file, INVITE);
    const saved = await py(one, 'alice@one.test', 'invite', file);
    const eventPath = new URL(saved.url).pathname;

    // alice's copy now says how each attendee was reached (RFC 6638 §7.3).
    const organizer = await curl(one, 'alice@one.test', 'GET', eventPath);
    const unfolded = organizer.body.replace(/\r\n[ \t]/g, '');
    assert.match(unfolded, /ATTENDEE;[^\r\n]*SCHEDULE-STATUS=1\.2[^\r\n]*:mailto:bob@one\.test/i);
    assert.match(unfolded, /ATTENDEE;[^\r\n]*SCHEDULE-STATUS=1\.1[^\r\n]*:mailto:carol@two\.test/i);
    assert.ok(organizer.headers['schedule-tag'], 'the organizer copy has a Schedule-Tag');

    // bob's app finds the REQUEST in his inbox and accepts it.
    const accepted = await py(one, 'bob@one.test', 'accept', UID);
    assert.deepEqual(accepted, { inbox: 1, is_request: true, accepted: true });
    const bobCopy = await py(one, 'bob@one.test', 'event', UID);
    assert.match(bobCopy.data.replace(/\r?\n[ \t]/g, ''), /ATTENDEE;[^\n]*PARTSTAT=ACCEPTED[^\n]*:mailto:bob@one\.test/i);
    // … and the REPLY reached alice's copy.
    const updated = (await curl(one, 'alice@one.test', 'GET', eventPath)).body.replace(/\r\n[ \t]/g, '');
    assert.match(updated, /ATTENDEE;[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:bob@one\.test/i);

    // carol's mailbox on two.test gets the invitation as iMIP (RFC 6047).
    const mail = await waitFor(
      async () => (await inboxOf(two, 'carol@two.test')).find((m) => m.includes('Subject: Invitation: Planning')),
      'the iMIP invitation at two.test',
      30_000,
    );
    assert.match(mail, /Content-Type: text\/calendar; charset=utf-8; method=REQUEST/);
    const part = /method=REQUEST\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(mail)?.[1] ?? '';
    const ics = Buffer.from(part.replace(/\r\n/g, ''), 'base64').toString('utf8');
    assert.match(ics, /METHOD:REQUEST/);
    assert.match(ics, new RegExp(`UID:${UID}`));
    assert.doesNotMatch(ics, /SCHEDULE-STATUS/);
  });

  it('Schedule-Tag and If-Schedule-Tag-Match; the inbox takes no PUT; the outbox only the organizer', async () => {
    const listing = await curl(one, 'bob@one.test', 'GET', `/dav/calendars/bob@one.test/default/${UID}.ics`);
    const tag = listing.headers['schedule-tag'];
    assert.ok(tag, 'the attendee copy has a Schedule-Tag');
    const stale = await curl(
      one,
      'bob@one.test',
      'PUT',
      `/dav/calendars/bob@one.test/default/${UID}.ics`,
      { 'content-type': 'text/calendar', 'if-schedule-tag-match': '"not-the-tag"' },
      listing.body,
    );
    assert.equal(stale.status, 412);
    const intoInbox = await curl(
      one,
      'bob@one.test',
      'PUT',
      '/dav/calendars/bob@one.test/inbox/x.ics',
      { 'content-type': 'text/calendar' },
      INVITE,
    );
    assert.equal(intoInbox.status, 403);
    const fb = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//test//EN',
      'METHOD:REQUEST',
      'BEGIN:VFREEBUSY',
      'UID:fb-1',
      'DTSTAMP:20261020T080000Z',
      'DTSTART:20261102T000000Z',
      'DTEND:20261103T000000Z',
      'ORGANIZER:mailto:alice@one.test',
      'ATTENDEE:mailto:carol@two.test',
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const asBob = await curl(one, 'bob@one.test', 'POST', '/dav/calendars/bob@one.test/outbox/', { 'content-type': 'text/calendar' }, fb);
    assert.equal(asBob.status, 403);
    assert.match(asBob.body, /organizer-allowed/);
    // Every attendee is scheduled, so an event may list at most calendar.max_attendees (50 by default).
    const crowd = Array.from({ length: 51 }, (_, i) => `ATTENDEE:mailto:guest${i}@two.test`).join('\r\n');
    const big = await curl(
      one,
      'alice@one.test',
      'PUT',
      '/dav/calendars/alice@one.test/default/crowd.ics',
      { 'content-type': 'text/calendar' },
      INVITE.replace(UID, 'crowd-1').replace('ATTENDEE;CN=Alice', `${crowd}\r\nATTENDEE;CN=Alice`),
    );
    assert.equal(big.status, 403);
    assert.match(big.body, /max-attendees-per-instance/);
    assert.equal((await curl(one, 'alice@one.test', 'GET', '/dav/calendars/alice@one.test/default/crowd.ics')).status, 404);
  });

  it("the organizer removes the event: bob's copy is cancelled, carol gets a cancellation", async () => {
    const del = await curl(one, 'alice@one.test', 'DELETE', `/dav/calendars/alice@one.test/default/${UID}.ics`);
    assert.equal(del.status, 204);
    const bobCopy = await py(one, 'bob@one.test', 'event', UID);
    assert.match(bobCopy.data, /STATUS:CANCELLED/);
    await waitFor(
      async () => (await inboxOf(two, 'carol@two.test')).find((m) => m.includes('Subject: Cancelled: Planning')),
      'the iMIP cancellation at two.test',
      30_000,
    );
  });
});
