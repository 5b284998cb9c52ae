// Calendar sharing between accounts of a domain, the calendarserver way (CS:share POST, CS:invite,
// CS:invite-notification, CS:invite-reply): alice shares her calendar with bob (read), carol
// (read-write) and erin over curl as Apple Calendar would; each finds the invite in its notification
// collection; bob and carol accept (erin declines) with the invite-reply Apple Calendar POSTs to the
// calendar home, and only then python3-caldav, as their calendar apps, finds the calendar in their homes;
// bob cannot write, carol can, and alice sees carol's event. current-user-privilege-set says so.
// Sharing outside the domain is refused; a sharee removing the calendar leaves only the share.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { curlHttp, icsEvent } from '../helpers/curl-http.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const caldavSkip = peerSkip(
  'python3-caldav',
  spawnSync(PY, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0,
  'apt-get install python3-caldav',
);
const PASSWORD = 'correct horse battery staple';

const share = (...entries: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">${entries.join('')}</CS:share>`;
const set = (address: string, access: 'read' | 'read-write') =>
  `<CS:set><D:href>mailto:${address}</D:href><CS:summary>Team</CS:summary><CS:${access}/></CS:set>`;
const remove = (address: string) => `<CS:remove><D:href>mailto:${address}</D:href></CS:remove>`;
const reply = (answer: 'accepted' | 'declined', host: string, uid?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<A:invite-reply xmlns:A="http://calendarserver.org/ns/">\n  <B:href xmlns:B="DAV:">mailto:me@one.test</B:href>\n  <A:invite-${answer}/>\n  <A:hosturl><B:href xmlns:B="DAV:">${host}</B:href></A:hosturl>\n${uid ? `  <A:in-reply-to>${uid}</A:in-reply-to>\n` : ''}  <A:summary>Team</A:summary>\n</A:invite-reply>\n`;
const NOTIFICATION_URL =
  '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:notification-URL/></D:prop></D:propfind>';
const NOTIFICATION_PROPS =
  '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:getetag/><CS:notificationtype/><CS:getctag/></D:prop></D:propfind>';
const PRIVS =
  '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:current-user-privilege-set/><D:owner/><D:resourcetype/><CS:invite/></D:prop></D:propfind>';

describe('calendar sharing between accounts of a domain', { skip: caldavSkip || commandSkip('curl', 'curl') }, () => {
  let t: TestServer;
  let tmp: string;
  let mount: string;

  const py = async (user: string, ...args: string[]) => {
    const { stdout } = await exec(
      PY,
      [path.join(import.meta.dirname, 'dav-sharing.py'), `${t.baseUrl}/`, user, PASSWORD, t.caFile, ...args],
      {
        timeout: 60_000,
      },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  };
  const curl = (user: string, method: string, p: string, body?: string, headers: Record<string, string> = {}) =>
    curlHttp(
      t.caFile,
      tmp,
      ['-X', method, '-u', `${user}:${PASSWORD}`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${t.baseUrl}${p}`],
      body,
    );
  const eventFile = async (uid: string) => {
    const file = path.join(tmp, `${uid}.ics`);
    await writeFile(file, icsEvent(uid, 'DTSTART:20261110T090000Z', 'DTEND:20261110T100000Z', `SUMMARY:${uid}`));
    return file;
  };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-share-'));
    t = await startTestServer({ domain: 'one.test' });
    for (const u of ['alice', 'bob', 'carol', 'erin']) await t.services.accounts.addUser({ address: `${u}@one.test`, password: PASSWORD });
    await t.services.accounts.addDomain('two.test');
    await t.services.accounts.addUser({ address: 'dave@two.test', password: PASSWORD });
    await curl('alice@one.test', 'PROPFIND', '/dav/calendars/alice@one.test/', '', { depth: '1' });
    const put = await curl(
      'alice@one.test',
      'PUT',
      '/dav/calendars/alice@one.test/default/standup.ics',
      icsEvent('standup', 'DTSTART:20261109T090000Z', 'DTEND:20261109T091500Z', 'SUMMARY:Standup'),
      { 'content-type': 'text/calendar' },
    );
    assert.equal(put.status, 201);
    const calendar = await t.services.calendar.store.getCalendar(
      (await t.services.directory.findByAddress('alice@one.test'))!.id,
      'default',
    );
    mount = `shared-${calendar!.id}`;
  });

  after(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('alice invites bob (read), carol (read-write) and erin; CS:invite lists them unanswered; other domains and strangers are refused', async () => {
    const options = await curl('alice@one.test', 'OPTIONS', '/dav/');
    assert.match(options.headers.dav ?? '', /calendarserver-sharing/);
    const ok = await curl(
      'alice@one.test',
      'POST',
      '/dav/calendars/alice@one.test/default/',
      share(set('bob@one.test', 'read'), set('carol@one.test', 'read-write'), set('erin@one.test', 'read')),
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(ok.status, 200, ok.body);
    const props = await curl('alice@one.test', 'PROPFIND', '/dav/calendars/alice@one.test/default/', PRIVS, { depth: '0' });
    assert.match(props.body, /<CS:shared-owner\/>/);
    assert.match(
      props.body,
      /mailto:bob@one\.test<\/D:href>(<CS:common-name>[^<]*<\/CS:common-name>)?<CS:invite-noresponse\/><CS:access><CS:read\/>/,
    );
    assert.match(
      props.body,
      /mailto:carol@one\.test<\/D:href>(<CS:common-name>[^<]*<\/CS:common-name>)?<CS:invite-noresponse\/><CS:access><CS:read-write\/>/,
    );
    // Before answering, the calendar is not in the sharees' homes.
    assert.ok(!(await py('bob@one.test', 'list')).calendars.some((c: { name: string }) => c.name === mount));
    assert.equal((await curl('bob@one.test', 'PROPFIND', `/dav/calendars/bob@one.test/${mount}/`, PRIVS, { depth: '0' })).status, 404);
    for (const who of ['dave@two.test', 'nobody@one.test', 'alice@one.test']) {
      const refused = await curl('alice@one.test', 'POST', '/dav/calendars/alice@one.test/default/', share(set(who, 'read')), {
        'content-type': 'application/xml',
      });
      assert.equal(refused.status, 403, who);
    }
  });

  it('each sharee finds the invite in its notification collection and answers it as Apple Calendar does', async () => {
    const principal = await curl('bob@one.test', 'PROPFIND', '/dav/principals/bob@one.test/', NOTIFICATION_URL, { depth: '0' });
    const notifications = /<CS:notification-URL><D:href>([^<]+)<\/D:href>/.exec(principal.body)?.[1];
    assert.equal(notifications, '/dav/calendars/bob@one.test/notification/', principal.body);
    const listing = await curl('bob@one.test', 'PROPFIND', notifications!, NOTIFICATION_PROPS, { depth: '1' });
    assert.equal(listing.status, 207);
    assert.match(listing.body, /<D:resourcetype><D:collection\/><CS:notification\/><\/D:resourcetype>/);
    assert.match(listing.body, /<CS:notificationtype><CS:invite-notification shared-type="calendar"\/><\/CS:notificationtype>/);
    const item = /<D:href>([^<]+\.xml)<\/D:href>/.exec(listing.body)?.[1];
    assert.ok(item, listing.body);
    const note = await curl('bob@one.test', 'GET', item!);
    assert.equal(note.status, 200);
    assert.match(note.body, /<CS:invite-notification shared-type="calendar">/);
    assert.match(note.body, /<CS:invite-noresponse\/>/);
    assert.match(note.body, /<CS:hosturl><D:href>\/dav\/calendars\/alice@one\.test\/default\/<\/D:href><\/CS:hosturl>/);
    assert.match(note.body, /<CS:organizer><D:href>mailto:alice@one\.test<\/D:href>/);
    assert.match(note.body, /<CS:access><CS:read\/><\/CS:access>/);
    assert.match(note.body, /<CS:summary>Team<\/CS:summary>/);
    const uid = /<CS:uid>([^<]+)<\/CS:uid>/.exec(note.body)![1]!;
    // bob answers with hosturl and in-reply-to, as Apple Calendar sends it.
    const accepted = await curl(
      'bob@one.test',
      'POST',
      '/dav/calendars/bob@one.test/',
      reply('accepted', '/dav/calendars/alice@one.test/default/', uid),
      {
        'content-type': 'application/xml; charset=utf-8',
      },
    );
    assert.equal(accepted.status, 200, accepted.body);
    assert.match(accepted.body, new RegExp(`<CS:shared-as [^>]*><D:href>/dav/calendars/bob@one\\.test/${mount}/</D:href></CS:shared-as>`));
    // carol answers naming only the host URL; erin declines.
    const carol = await curl(
      'carol@one.test',
      'POST',
      '/dav/calendars/carol@one.test/',
      reply('accepted', `${t.baseUrl}/dav/calendars/alice@one.test/default/`),
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(carol.status, 200, carol.body);
    const erin = await curl(
      'erin@one.test',
      'POST',
      '/dav/calendars/erin@one.test/',
      reply('declined', '/dav/calendars/alice@one.test/default/'),
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(erin.status, 200, erin.body);
    // A reply to an invite nobody sent is refused; bad bodies get 400.
    const stray = await curl(
      'bob@one.test',
      'POST',
      '/dav/calendars/bob@one.test/',
      reply('accepted', '/dav/calendars/carol@one.test/default/'),
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(stray.status, 403);
    const bad = await curl(
      'bob@one.test',
      'POST',
      '/dav/calendars/bob@one.test/',
      '<CS:invite-reply xmlns:CS="http://calendarserver.org/ns/"/>',
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(bad.status, 400);
    assert.ok(!(await py('erin@one.test', 'list')).calendars.some((c: { name: string }) => c.name === mount));
    const after = await curl('bob@one.test', 'PROPFIND', notifications!, NOTIFICATION_PROPS, { depth: '1' });
    assert.doesNotMatch(after.body, /\.xml<\/D:href>/);
    const props = await curl('alice@one.test', 'PROPFIND', '/dav/calendars/alice@one.test/default/', PRIVS, { depth: '0' });
    assert.match(props.body, /mailto:bob@one\.test<\/D:href>(<CS:common-name>[^<]*<\/CS:common-name>)?<CS:invite-accepted\/>/);
    assert.match(props.body, /mailto:erin@one\.test<\/D:href>(<CS:common-name>[^<]*<\/CS:common-name>)?<CS:invite-declined\/>/);
  });

  it('bob’s app (python3-caldav) finds the calendar in his home and reads it, but cannot write', async () => {
    const list = await py('bob@one.test', 'list');
    assert.ok(
      list.calendars.some((c: { name: string }) => c.name === mount),
      JSON.stringify(list),
    );
    assert.deepEqual((await py('bob@one.test', 'events', mount)).uids, ['standup']);
    assert.equal((await py('bob@one.test', 'save', mount, await eventFile('from-bob'))).result !== 'ok', true);
    const props = await curl('bob@one.test', 'PROPFIND', `/dav/calendars/bob@one.test/${mount}/`, PRIVS, { depth: '0' });
    assert.match(props.body, /<D:privilege><D:read\/><\/D:privilege>/);
    assert.doesNotMatch(props.body, /<D:write\/>|<D:write-content\/>|<D:bind\/>/);
    assert.match(props.body, /<D:owner><D:href>\/dav\/principals\/alice@one\.test\/<\/D:href><\/D:owner>/);
    assert.match(props.body, /<CS:shared\/>/);
    // bob cannot share alice's calendar on.
    const asBob = await curl('bob@one.test', 'POST', `/dav/calendars/bob@one.test/${mount}/`, share(set('carol@one.test', 'read')), {
      'content-type': 'application/xml',
    });
    assert.equal(asBob.status, 403);
    const del = await curl('bob@one.test', 'DELETE', `/dav/calendars/bob@one.test/${mount}/standup.ics`);
    assert.equal(del.status, 403);
    assert.equal((await curl('alice@one.test', 'GET', '/dav/calendars/alice@one.test/default/from-bob.ics')).status, 404);
  });

  it('carol (read-write) adds an event alice then sees; her privileges include write', async () => {
    assert.equal((await py('carol@one.test', 'save', mount, await eventFile('from-carol'))).result, 'ok');
    const got = await curl('alice@one.test', 'GET', '/dav/calendars/alice@one.test/default/from-carol.ics');
    assert.equal(got.status, 200);
    assert.match(got.body, /SUMMARY:from-carol/);
    const props = await curl('carol@one.test', 'PROPFIND', `/dav/calendars/carol@one.test/${mount}/`, PRIVS, { depth: '0' });
    assert.match(props.body, /<D:write-content\/>/);
    // dave (another domain) sees nothing of it.
    assert.equal((await curl('dave@two.test', 'PROPFIND', `/dav/calendars/dave@two.test/${mount}/`, PRIVS, { depth: '0' })).status, 404);
  });

  it('bob removes the shared calendar from his home: only the share ends; alice removes carol', async () => {
    assert.equal((await curl('bob@one.test', 'DELETE', `/dav/calendars/bob@one.test/${mount}/`)).status, 204);
    assert.ok(!(await py('bob@one.test', 'list')).calendars.some((c: { name: string }) => c.name === mount));
    assert.deepEqual((await py('alice@one.test', 'events', 'default')).uids, ['from-carol', 'standup']);
    const r = await curl(
      'alice@one.test',
      'POST',
      '/dav/calendars/alice@one.test/default/',
      share(remove('carol@one.test'), remove('erin@one.test')),
      {
        'content-type': 'application/xml',
      },
    );
    assert.equal(r.status, 200);
    assert.equal((await curl('carol@one.test', 'GET', `/dav/calendars/carol@one.test/${mount}/from-carol.ics`)).status, 404);
    const props = await curl('alice@one.test', 'PROPFIND', '/dav/calendars/alice@one.test/default/', PRIVS, { depth: '0' });
    assert.doesNotMatch(props.body, /shared-owner|mailto:/);
  });
});
