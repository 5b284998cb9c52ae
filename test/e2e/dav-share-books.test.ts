// Address-book sharing the calendarserver way, attendee lookup and big calendar-queries:
// - alice shares her address book with bob (read) and carol (read-write) by a CS:share POST (curl,
//   as Apple Contacts sends it); each finds the invite in its notification collection and accepts
//   with CS:invite-reply; tsdav, as their contacts app, then lists the shared book: bob's PUT is
//   refused, carol's lands in alice's book.
// - principal-property-search (RFC 3744 §9.4) by display name and by address, as Apple Calendar and
//   Evolution send it, bounded by DAV:limit with a 507 for the rest; principal-search-property-set.
// - a calendar-query matching more than 10,000 events answers them all (streamed), and one with a
//   DAV:limit answers that many and a 507 for the collection.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { curlHttp } from '../helpers/curl-http.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const XML = { 'content-type': 'application/xml; charset=utf-8' };

const share = (...entries: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">${entries.join('')}</CS:share>`;
const set = (address: string, access: 'read' | 'read-write') =>
  `<CS:set><D:href>mailto:${address}</D:href><CS:summary>Family</CS:summary><CS:${access}/></CS:set>`;
const accept = (uid: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<A:invite-reply xmlns:A="http://calendarserver.org/ns/"><B:href xmlns:B="DAV:">mailto:x</B:href><A:invite-accepted/><A:in-reply-to>${uid}</A:in-reply-to></A:invite-reply>`;
const card = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nEND:VCARD\r\n`;
const search = (test: string, limit: number | undefined, ...terms: Array<[string, string]>) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<x0:principal-property-search xmlns:x0="DAV:" xmlns:x1="urn:ietf:params:xml:ns:caldav" xmlns:x2="http://calendarserver.org/ns/"${test ? ` test="${test}"` : ''}>` +
  terms
    .map(([prop, match]) => `<x0:property-search><x0:prop><${prop}/></x0:prop><x0:match>${match}</x0:match></x0:property-search>`)
    .join('') +
  `<x0:prop><x0:displayname/><x1:calendar-user-address-set/><x2:email-address-set/></x0:prop>${limit ? `<x0:limit><x0:nresults>${limit}</x0:nresults></x0:limit>` : ''}</x0:principal-property-search>`;
const QUERY = (limit?: number) =>
  '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>' +
  '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260101T000000Z" end="20270101T000000Z"/></c:comp-filter></c:comp-filter></c:filter>' +
  `${limit ? `<d:limit><d:nresults>${limit}</d:nresults></d:limit>` : ''}</c:calendar-query>`;

describe('address-book sharing, principal search and large calendar-queries', { skip: commandSkip('curl', 'curl') }, () => {
  let t: TestServer;
  let tmp: string;
  let mount: string;
  const curl = (user: string, method: string, p: string, body?: string, headers: Record<string, string> = {}) =>
    curlHttp(
      t.caFile,
      tmp,
      ['-X', method, '-u', `${user}:${PASSWORD}`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${t.baseUrl}${p}`],
      body,
    );
  const tsdav = async (user: string, uid: string) => {
    const { stdout } = await exec(
      process.execPath,
      [path.join(import.meta.dirname, 'dav-tsdav-books.client.ts'), `${t.baseUrl}/`, user, PASSWORD, uid],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: t.caFile }, timeout: 60_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { books: Record<string, string[]>; put: Record<string, number> };
  };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-books-'));
    t = await startTestServer({ domain: 'one.test' });
    for (const [u, name] of [
      ['alice', 'Alice Liddell'],
      ['bob', 'Bob Marley'],
      ['carol', 'Carol King'],
      ['bobby', 'Bobby Tables'],
    ])
      await t.services.accounts.addUser({ address: `${u}@one.test`, password: PASSWORD, displayName: name });
    await t.services.accounts.addDomain('two.test');
    await t.services.accounts.addUser({ address: 'bob@two.test', password: PASSWORD, displayName: 'Bob Elsewhere' });
    await curl('alice@one.test', 'PROPFIND', '/dav/addressbooks/alice@one.test/', '', { depth: '1' });
    const put = await curl('alice@one.test', 'PUT', '/dav/addressbooks/alice@one.test/contacts/mum.vcf', card('mum', 'Mum'), {
      'content-type': 'text/vcard',
    });
    assert.equal(put.status, 201);
  });

  after(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('alice shares her address book; bob and carol accept the invite; tsdav lists it read-only for bob, writable for carol', async () => {
    const shared = await curl(
      'alice@one.test',
      'POST',
      '/dav/addressbooks/alice@one.test/contacts/',
      share(set('bob@one.test', 'read'), set('carol@one.test', 'read-write')),
      XML,
    );
    assert.equal(shared.status, 200, shared.body);
    assert.equal(
      (await curl('alice@one.test', 'POST', '/dav/addressbooks/alice@one.test/contacts/', share(set('bob@two.test', 'read')), XML)).status,
      403,
    );
    // Not in bob's home before he answers.
    assert.deepEqual(Object.keys((await tsdav('bob@one.test', 'none')).books), ['/dav/addressbooks/bob@one.test/contacts/']);
    for (const who of ['bob@one.test', 'carol@one.test']) {
      const list = await curl(
        who,
        'PROPFIND',
        `/dav/calendars/${who}/notification/`,
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:notificationtype/></D:prop></D:propfind>',
        { depth: '1' },
      );
      assert.match(list.body, /<CS:invite-notification shared-type="addressbook"\/>/);
      const item = /<D:href>([^<]+\.xml)<\/D:href>/.exec(list.body)![1]!;
      const note = await curl(who, 'GET', item);
      assert.match(note.body, /<CS:hosturl><D:href>\/dav\/addressbooks\/alice@one\.test\/contacts\/<\/D:href><\/CS:hosturl>/);
      const uid = /<CS:uid>([^<]+)<\/CS:uid>/.exec(note.body)![1]!;
      const ok = await curl(who, 'POST', `/dav/addressbooks/${who}/`, accept(uid), XML);
      assert.equal(ok.status, 200, ok.body);
      mount = /<D:href>\/dav\/addressbooks\/[^/]+\/(shared-\d+)\/<\/D:href>/.exec(ok.body)![1]!;
    }
    const bob = await tsdav('bob@one.test', 'from-bob');
    assert.deepEqual(bob.books[`/dav/addressbooks/bob@one.test/${mount}/`], ['Mum']);
    assert.equal(bob.put[`/dav/addressbooks/bob@one.test/${mount}/`], 403);
    const carol = await tsdav('carol@one.test', 'from-carol');
    assert.equal(carol.put[`/dav/addressbooks/carol@one.test/${mount}/`], 201);
    const got = await curl('alice@one.test', 'GET', '/dav/addressbooks/alice@one.test/contacts/from-carol.vcf');
    assert.equal(got.status, 200);
    assert.match(got.body, /FN:from-carol/);
    assert.equal((await curl('alice@one.test', 'GET', '/dav/addressbooks/alice@one.test/contacts/from-bob.vcf')).status, 404);
    const props = await curl(
      'alice@one.test',
      'PROPFIND',
      '/dav/addressbooks/alice@one.test/contacts/',
      '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><CS:invite/></D:prop></D:propfind>',
      { depth: '0' },
    );
    assert.match(props.body, /<CS:shared-owner\/>/);
    assert.match(
      props.body,
      /mailto:bob@one\.test<\/D:href>(<CS:common-name>[^<]*<\/CS:common-name>)?<CS:invite-accepted\/><CS:access><CS:read\/>/,
    );
    // bob leaves the share: the book goes from his home, alice's stays whole.
    assert.equal((await curl('bob@one.test', 'DELETE', `/dav/addressbooks/bob@one.test/${mount}/`)).status, 204);
    assert.equal((await curl('alice@one.test', 'GET', '/dav/addressbooks/alice@one.test/contacts/mum.vcf')).status, 200);
    assert.equal((await curl('bob@one.test', 'PROPFIND', `/dav/addressbooks/bob@one.test/${mount}/`, '', { depth: '0' })).status, 404);
  });

  it('principal-property-search finds attendees of the own domain by name or address, bounded', async () => {
    const byName = await curl(
      'alice@one.test',
      'REPORT',
      '/dav/principals/',
      search('anyof', undefined, ['x0:displayname', 'bob'], ['x2:email-address-set', 'bob']),
      { ...XML, depth: '0' },
    );
    assert.equal(byName.status, 207, byName.body);
    const found = [...byName.body.matchAll(/<D:response><D:href>\/dav\/principals\/([^<]+)\/<\/D:href>/g)].map((m) => m[1]);
    assert.deepEqual(found, ['bob@one.test', 'bobby@one.test']);
    assert.match(byName.body, /<D:displayname>Bobby Tables<\/D:displayname>/);
    assert.match(byName.body, /<C:calendar-user-address-set><D:href>mailto:bob@one\.test<\/D:href>/);
    const byAddress = await curl(
      'alice@one.test',
      'REPORT',
      '/dav/principals/',
      search('', undefined, ['x1:calendar-user-address-set', 'mailto:carol@one']),
      { ...XML, depth: '0' },
    );
    assert.match(byAddress.body, /\/dav\/principals\/carol@one\.test\//);
    assert.doesNotMatch(byAddress.body, /bob/);
    const limited = await curl('alice@one.test', 'REPORT', '/dav/principals/', search('anyof', 1, ['x0:displayname', 'o']), {
      ...XML,
      depth: '0',
    });
    assert.equal([...limited.body.matchAll(/<D:response><D:href>\/dav\/principals\/[^<]+@[^<]+\/<\/D:href>/g)].length, 1);
    assert.match(limited.body, /<D:href>\/dav\/principals\/<\/D:href><D:status>HTTP\/1\.1 507 Insufficient Storage<\/D:status>/);
    const set = await curl(
      'alice@one.test',
      'REPORT',
      '/dav/principals/',
      '<?xml version="1.0"?><D:principal-search-property-set xmlns:D="DAV:"/>',
      { ...XML, depth: '0' },
    );
    assert.equal(set.status, 200);
    assert.match(set.body, /<D:principal-search-property><D:prop><D:displayname\/><\/D:prop>/);
    const bad = await curl('alice@one.test', 'REPORT', '/dav/principals/', search('', undefined, ['x0:getetag', 'a']), {
      ...XML,
      depth: '0',
    });
    assert.equal(bad.status, 403);
    const empty = await curl('alice@one.test', 'REPORT', '/dav/principals/', search('', undefined, ['x0:displayname', '']), {
      ...XML,
      depth: '0',
    });
    assert.equal(empty.status, 400);
  });

  it('a calendar-query matching more than 10,000 events answers all of them; DAV:limit truncates with a 507', async () => {
    const alice = (await t.services.directory.findByAddress('alice@one.test'))!;
    const events = 10_050;
    const parts = ['BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n'];
    for (let i = 0; i < events; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      const month = String(1 + (i % 12)).padStart(2, '0');
      parts.push(
        `BEGIN:VEVENT\r\nUID:e${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:2026${month}${day}T090000Z\r\nDTEND:2026${month}${day}T100000Z\r\nEND:VEVENT\r\n`,
      );
    }
    parts.push('END:VCALENDAR\r\n');
    await t.services.calendar.importIcs(alice, 'many', parts.join(''));
    const all = await curl('alice@one.test', 'REPORT', '/dav/calendars/alice@one.test/many/', QUERY(), { ...XML, depth: '1' });
    assert.equal(all.status, 207);
    assert.equal(all.body.match(/<D:getetag>/g)?.length, events);
    assert.match(all.body, /<\/D:multistatus>\n$/);
    const some = await curl('alice@one.test', 'REPORT', '/dav/calendars/alice@one.test/many/', QUERY(25), { ...XML, depth: '1' });
    assert.equal(some.body.match(/<D:getetag>/g)?.length, 25);
    assert.match(
      some.body,
      /<D:href>\/dav\/calendars\/alice@one\.test\/many\/<\/D:href><D:status>HTTP\/1\.1 507 Insufficient Storage<\/D:status>/,
    );
  });
});
