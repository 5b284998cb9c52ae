// CalDAV on a running node: python3-caldav discovers the calendar home from the bare server URL,
// makes a calendar, stores, reads, searches by time range (a recurring event too), syncs and asks
// free/busy; curl checks the wire details (byte-exact storage, ETags and preconditions, bad input,
// XML limits, other users' homes, sync tokens across a restart).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type CurlReply, curlHttp } from '../helpers/curl-http.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const curlSkip = commandSkip('curl', 'curl');
const caldavSkip = peerSkip(
  'python3-caldav',
  spawnSync(PY, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0,
  'apt-get install python3-caldav',
);
const PASSWORD = 'correct horse battery staple';

describe('CalDAV', { skip: curlSkip }, () => {
  let srv: TestServer;
  let dataDir: string;
  let dir: string;

  const curl = (args: string[], body?: string | Buffer): Promise<CurlReply> => curlHttp(srv.caFile, dir, args, body);
  const as = (user: string) => ['-u', `${user}:${PASSWORD}`];
  const url = (p: string) => `${srv.baseUrl}${p}`;
  const home = '/dav/calendars/bob@example.test/';

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-dav-'));
    dir = dataDir;
    srv = await startTestServer({ domain: 'example.test', dataDir });
    for (const u of ['bob', 'carol']) await srv.services.accounts.addUser({ address: `${u}@example.test`, password: PASSWORD });
  });
  after(async () => {
    await srv?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('python3-caldav: discovery from the bare URL, MKCALENDAR, PUT/GET, time-range search, sync, free/busy', {
    skip: caldavSkip,
  }, async () => {
    const { stdout } = await exec(
      PY,
      [path.join(import.meta.dirname, 'dav-python.py'), `${srv.baseUrl}/`, 'bob@example.test', PASSWORD, srv.caFile],
      { timeout: 60_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(out.principal, `${srv.baseUrl}/dav/principals/bob@example.test/`);
    assert.match(out.home, /\/dav\/calendars\/bob(@|%40)example\.test\/$/);
    assert.deepEqual(out.calendars_before, ['default'], 'a first calendar exists on first access');
    assert.deepEqual(out.calendars_after, ['default', 'work']);
    assert.equal(out.get_same, true);
    assert.equal(out.by_uid, true);
    assert.deepEqual(out.search_single, ['single-1%40test.ics']);
    assert.deepEqual(out.search_recurring, ['weekly-1%40test.ics'], 'the 8th weekly instance falls in the window');
    assert.deepEqual(out.search_after_count, [], 'COUNT=10 ends before 2027');
    assert.equal(out.sync_initial, 2);
    assert.deepEqual(out.sync_changed, ['single-1%40test.ics:gone', 'single-2%40test.ics']);
    assert.equal(out.sync_token_moved, true);
    assert.equal(out.freebusy.length, 1);
    assert.match(out.freebusy[0], /2026, 11, 9, 9, 0.*2026, 11, 9, 9, 30/);
  });

  it('answers OPTIONS with the DAV classes and redirects the well-known URIs', async () => {
    const o = await curl(['-X', 'OPTIONS', url('/dav/')]);
    assert.equal(o.status, 200);
    assert.match(o.headers.dav!, /calendar-access/);
    assert.match(o.headers.allow!, /MKCALENDAR/);
    for (const name of ['caldav', 'carddav']) {
      const r = await curl([url(`/.well-known/${name}`)]);
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, '/dav/');
    }
    const auto = await curl([url('/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@example.test')]);
    assert.match(auto.body, /<calendar type="caldav">[\s\S]*<serverURL>https:\/\/[^<]+\/dav\/<\/serverURL>/);
    assert.match(auto.body, /<addressBook type="carddav">/);
    const anon = await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', url('/dav/')]);
    assert.equal(anon.status, 401);
    assert.match(anon.headers['www-authenticate']!, /Basic realm=/);
    assert.match(anon.headers['www-authenticate']!, /Bearer .*resource_metadata=/);
  });

  it('stores objects byte for byte with strong ETags and honours preconditions', async () => {
    // LF line ends, properties in an unusual order, an X- property: all kept as sent.
    const ics =
      'BEGIN:VCALENDAR\nPRODID:-//odd//EN\nVERSION:2.0\nX-ODD:yes\nBEGIN:VEVENT\nSUMMARY:Zürich trip\nUID:exact-1\nDTSTAMP:20260101T000000Z\nDTSTART:20261201T100000Z\nDTEND:20261201T120000Z\nEND:VEVENT\nEND:VCALENDAR\n';
    const obj = url(`${home}default/exact-1.ics`);
    const put = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar; charset=utf-8', '-H', 'If-None-Match: *', obj],
      ics,
    );
    assert.equal(put.status, 201);
    assert.match(put.headers.etag!, /^"[^"]+"$/);
    const get = await curl([...as('bob@example.test'), obj]);
    assert.equal(get.status, 200);
    assert.equal(get.body, ics);
    assert.equal(get.headers.etag, put.headers.etag);
    assert.match(get.headers['content-type']!, /^text\/calendar.*component=VEVENT/);
    const again = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', 'If-None-Match: *', obj],
      ics,
    );
    assert.equal(again.status, 412);
    const stale = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', 'If-Match: "nope"', obj],
      ics,
    );
    assert.equal(stale.status, 412);
    const ok = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', '-H', `If-Match: ${put.headers.etag}`, obj],
      ics.replace('Zürich', 'Basel'),
    );
    assert.equal(ok.status, 204);
    assert.notEqual(ok.headers.etag, put.headers.etag);
    const clash = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', url(`${home}default/other.ics`)],
      ics,
    );
    assert.equal(clash.status, 403);
    assert.match(clash.body, /no-uid-conflict.*exact-1\.ics/s);
    const delStale = await curl([...as('bob@example.test'), '-X', 'DELETE', '-H', 'If-Match: "nope"', obj]);
    assert.equal(delStale.status, 412);
    const del = await curl([...as('bob@example.test'), '-X', 'DELETE', '-H', `If-Match: ${ok.headers.etag}`, obj]);
    assert.equal(del.status, 204);
    assert.equal((await curl([...as('bob@example.test'), obj])).status, 404);
  });

  it('refuses malformed iCalendar with the line, and stores nothing', async () => {
    const obj = url(`${home}default/bad.ics`);
    const bad =
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bad-1\r\nDTSTART:2026-12-01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const r = await curl([...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', obj], bad);
    assert.equal(r.status, 400);
    assert.match(r.body, /valid-calendar-data/);
    assert.match(r.body, /line 6/);
    assert.equal((await curl([...as('bob@example.test'), obj])).status, 404);
    const wrongType = await curl([...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/plain', obj], 'hello');
    assert.equal(wrongType.status, 415);
    const latin1 = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', obj],
      Buffer.from('BEGIN:VCALENDAR\r\nX-A:\xe9\r\nEND:VCALENDAR\r\n', 'latin1'),
    );
    assert.equal(latin1.status, 415);
  });

  it('bounds request XML: no DOCTYPE or entities, limited depth, finite PROPFIND depth', async () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&b;</d:displayname></d:prop></d:propfind>';
    const r = await curl([...as('bob@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 0', url(home)], bomb);
    assert.equal(r.status, 400);
    const deep = `<d:propfind xmlns:d="DAV:">${'<d:x>'.repeat(200)}${'</d:x>'.repeat(200)}</d:propfind>`;
    assert.equal((await curl([...as('bob@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 0', url(home)], deep)).status, 400);
    const broken = await curl(
      [...as('bob@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 0', url(home)],
      '<d:propfind xmlns:d="DAV:"><d:prop>',
    );
    assert.equal(broken.status, 400);
    const infinite = await curl([...as('bob@example.test'), '-X', 'PROPFIND', '-H', 'Depth: infinity', url(home)]);
    assert.equal(infinite.status, 403);
    assert.match(infinite.body, /propfind-finite-depth/);
  });

  it("keeps other accounts' homes out of reach", async () => {
    const r = await curl([...as('carol@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 1', url(home)]);
    assert.equal(r.status, 404);
    const put = await curl(
      [...as('carol@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', url(`${home}default/x.ics`)],
      'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
    );
    assert.equal(put.status, 404);
  });

  it('PROPPATCH sets calendar properties; the CTag and sync token move with every change and survive a restart', async () => {
    const patch = await curl(
      [...as('bob@example.test'), '-X', 'PROPPATCH', url(`${home}default/`)],
      '<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Home &amp; family</d:displayname><a:calendar-color>#FF0000FF</a:calendar-color><c:calendar-description>ours</c:calendar-description></d:prop></d:set></d:propertyupdate>',
    );
    assert.equal(patch.status, 207);
    assert.doesNotMatch(patch.body, /40[34]/);
    const refused = await curl(
      [...as('bob@example.test'), '-X', 'PROPPATCH', url(`${home}default/`)],
      '<d:propertyupdate xmlns:d="DAV:" xmlns:x="urn:x"><d:set><d:prop><d:displayname>Never</d:displayname><x:thing>1</x:thing></d:prop></d:set></d:propertyupdate>',
    );
    assert.match(refused.body, /424 Failed Dependency/);
    assert.match(refused.body, /403 Forbidden/);
    const propfind = (body: string) => curl([...as('bob@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 0', url(`${home}default/`)], body);
    const props =
      '<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:displayname/><cs:getctag/><d:sync-token/><a:calendar-color/><c:supported-calendar-component-set/><c:max-resource-size/><d:current-user-privilege-set/></d:prop></d:propfind>';
    const before = await propfind(props);
    assert.match(before.body, /<D:displayname>Home &amp; family<\/D:displayname>/);
    assert.match(before.body, /#FF0000FF/);
    assert.match(before.body, /<C:comp name="VEVENT"\/>/);
    assert.match(before.body, /<D:privilege><D:write\/><\/D:privilege>/);
    const token = /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(before.body)![1]!;
    const ctag = /<CS:getctag>([^<]+)<\/CS:getctag>/.exec(before.body)![1]!;
    const put = await curl(
      [...as('bob@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', url(`${home}default/later.ics`)],
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:later\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261203T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
    );
    assert.equal(put.status, 201);
    const after1 = await propfind(props);
    assert.notEqual(/<CS:getctag>([^<]+)<\/CS:getctag>/.exec(after1.body)![1], ctag);

    // A restart on the same data: the old token still answers what changed since.
    await srv.close();
    srv = await startTestServer({ domain: 'example.test', dataDir });
    const sync = (t: string) =>
      curl(
        [...as('bob@example.test'), '-X', 'REPORT', '-H', 'Depth: 1', url(`${home}default/`)],
        `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${t}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
      );
    const changed = await sync(token);
    assert.equal(changed.status, 207);
    assert.match(changed.body, /later\.ics/);
    assert.doesNotMatch(changed.body, /exact-1\.ics/, 'removed before the token was taken');
    const forged = await sync(token.replace(/-(\d+)$/, '-999999'));
    assert.equal(forged.status, 403);
    assert.match(forged.body, /valid-sync-token/);
  });

  it('calendar-multiget returns the named objects and 404 for missing ones', async () => {
    const r = await curl(
      [...as('bob@example.test'), '-X', 'REPORT', '-H', 'Depth: 1', url(`${home}default/`)],
      `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>${home}default/later.ics</d:href><d:href>${home}default/none.ics</d:href></c:calendar-multiget>`,
    );
    assert.equal(r.status, 207);
    assert.match(r.body, /<C:calendar-data>BEGIN:VCALENDAR/);
    assert.match(r.body, /none\.ics<\/D:href><D:status>HTTP\/1.1 404/);
  });
});
