// CardDAV on a running node with curl: the default address book on first access, vCard 3.0 and
// 4.0 stored byte for byte, preconditions, malformed vCards refused with the line,
// addressbook-query, addressbook-multiget, sync-collection, extended MKCOL, app passwords scoped
// to carddav.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const curlSkip = commandSkip('curl', 'curl');
const PASSWORD = 'correct horse battery staple';

const CARD3 = 'BEGIN:VCARD\nVERSION:3.0\nFN:Mom Example\nN:Example;Mom;;;\nEMAIL;TYPE=INTERNET:Mom@Other.Example\nUID:mom-1\nEND:VCARD\n';
const CARD4 =
  'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Jürgen Test\r\nEMAIL;TYPE=work:juergen@example.org\r\nTEL;VALUE=uri;TYPE="voice,cell":tel:+1-555-555-5555\r\nEND:VCARD\r\n';

describe('CardDAV', { skip: curlSkip }, () => {
  let srv: TestServer;

  async function curl(args: string[], body?: string) {
    const extra: string[] = [];
    if (body !== undefined) {
      const file = path.join(srv.dataDir, `body-${Math.random().toString(36).slice(2)}`);
      await writeFile(file, body);
      extra.push('--data-binary', `@${file}`);
    }
    const { stdout } = await exec('curl', ['-sS', '--cacert', srv.caFile, '-D', '-', ...extra, ...args], { maxBuffer: 10 << 20 });
    const split = stdout.indexOf('\r\n\r\n');
    const head = stdout.slice(0, split).split('\r\n');
    const headers: Record<string, string> = {};
    for (const h of head.slice(1)) {
      const i = h.indexOf(':');
      headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
    }
    return { status: Number(head[0]!.split(' ')[1]), headers, body: stdout.slice(split + 4) };
  }
  const as = (user: string, password = PASSWORD) => ['-u', `${user}:${password}`];
  const url = (p: string) => `${srv.baseUrl}${p}`;
  const home = '/dav/addressbooks/ann@example.test/';
  const book = `${home}contacts/`;

  before(async () => {
    srv = await startTestServer({ domain: 'example.test' });
    for (const u of ['ann', 'ben', 'cid']) await srv.services.accounts.addUser({ address: `${u}@example.test`, password: PASSWORD });
  });
  after(async () => srv?.close());

  it('finds the address book home from the principal and a default address book in it', async () => {
    const p = await curl(
      [...as('ann@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 0', url('/dav/principals/ann@example.test/')],
      '<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><card:addressbook-home-set/></d:prop></d:propfind>',
    );
    assert.match(p.body, new RegExp(`<CR:addressbook-home-set><D:href>${home}</D:href>`));
    const list = await curl(
      [...as('ann@example.test'), '-X', 'PROPFIND', '-H', 'Depth: 1', url(home)],
      '<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:resourcetype/><d:displayname/><card:supported-address-data/></d:prop></d:propfind>',
    );
    assert.equal(list.status, 207);
    assert.match(list.body, /contacts\/<\/D:href>.*<CR:addressbook\/>.*version="4.0"/s);
  });

  it('stores vCard 3.0 and 4.0 byte for byte, with preconditions', async () => {
    const put3 = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', '-H', 'If-None-Match: *', url(`${book}mom.vcf`)],
      CARD3,
    );
    assert.equal(put3.status, 201);
    const put4 = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard; charset=utf-8', url(`${book}j.vcf`)],
      CARD4,
    );
    assert.equal(put4.status, 201);
    const get3 = await curl([...as('ann@example.test'), url(`${book}mom.vcf`)]);
    assert.equal(get3.body, CARD3);
    assert.equal(get3.headers.etag, put3.headers.etag);
    const get4 = await curl([...as('ann@example.test'), url(`${book}j.vcf`)]);
    assert.equal(get4.body, CARD4);
    assert.match(get4.headers['content-type']!, /version=4.0/);
    const again = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', '-H', 'If-None-Match: *', url(`${book}mom.vcf`)],
      CARD3,
    );
    assert.equal(again.status, 412);
    const clash = await curl([...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', url(`${book}mom2.vcf`)], CARD3);
    assert.equal(clash.status, 403);
    assert.match(clash.body, /no-uid-conflict/);
  });

  it('refuses malformed vCards with the line and stores nothing', async () => {
    const bad = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nUID:bad\r\nthis is not a content line\r\nEND:VCARD\r\n';
    const r = await curl([...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', url(`${book}bad.vcf`)], bad);
    assert.equal(r.status, 400);
    assert.match(r.body, /valid-address-data/);
    assert.match(r.body, /line 5/);
    assert.equal((await curl([...as('ann@example.test'), url(`${book}bad.vcf`)])).status, 404);
    const noUid = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', url(`${book}bad.vcf`)],
      'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n',
    );
    assert.equal(noUid.status, 400);
    const wrongType = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/calendar', url(`${book}bad.vcf`)],
      CARD3,
    );
    assert.equal(wrongType.status, 415);
  });

  it('answers addressbook-query and addressbook-multiget', async () => {
    const q = await curl(
      [...as('ann@example.test'), '-X', 'REPORT', '-H', 'Depth: 1', url(book)],
      '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><card:filter><card:prop-filter name="EMAIL"><card:text-match collation="i;unicode-casemap" match-type="ends-with">other.example</card:text-match></card:prop-filter></card:filter></card:addressbook-query>',
    );
    assert.equal(q.status, 207);
    assert.match(q.body, /mom\.vcf/);
    assert.doesNotMatch(q.body, /j\.vcf/);
    assert.match(q.body, /FN:Mom Example/);
    const m = await curl(
      [...as('ann@example.test'), '-X', 'REPORT', '-H', 'Depth: 1', url(book)],
      `<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><d:href>${book}j.vcf</d:href><d:href>${book}nope.vcf</d:href></card:addressbook-multiget>`,
    );
    assert.match(m.body, /Jürgen Test/);
    assert.match(m.body, /nope\.vcf<\/D:href><D:status>HTTP\/1.1 404/);
  });

  it('reports changes and removals with sync-collection', async () => {
    const sync = (token: string) =>
      curl(
        [...as('ann@example.test'), '-X', 'REPORT', url(book)],
        `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
      );
    const first = await sync('');
    const token = /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(first.body)![1]!;
    assert.match(first.body, /mom\.vcf/);
    assert.equal((await curl([...as('ann@example.test'), '-X', 'DELETE', url(`${book}j.vcf`)])).status, 204);
    const next = await sync(token);
    assert.match(next.body, /j\.vcf<\/D:href><D:status>HTTP\/1.1 404/);
    assert.doesNotMatch(next.body, /mom\.vcf/);
  });

  it('makes address books by extended MKCOL and sets their name by PROPPATCH', async () => {
    const mk = await curl(
      [...as('ann@example.test'), '-X', 'MKCOL', url(`${home}work/`)],
      '<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>Work</d:displayname></d:prop></d:set></d:mkcol>',
    );
    assert.equal(mk.status, 201);
    const patch = await curl(
      [...as('ann@example.test'), '-X', 'PROPPATCH', url(`${home}work/`)],
      '<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Colleagues</d:displayname></d:prop></d:set></d:propertyupdate>',
    );
    assert.match(patch.body, /200 OK/);
    const plain = await curl([...as('ann@example.test'), '-X', 'MKCOL', url(`${home}plain/`)]);
    assert.equal(plain.status, 403);
  });

  it('takes an app password made for carddav on address books only', async () => {
    const { secret } = await srv.services.accounts.createAppPassword({
      address: 'ann@example.test',
      name: 'phone contacts',
      protocols: ['carddav'],
      expiresAt: null,
    });
    const ok = await curl([...as('ann@example.test', secret), '-X', 'PROPFIND', '-H', 'Depth: 0', url(book)]);
    assert.equal(ok.status, 207);
    const cal = await curl([
      ...as('ann@example.test', secret),
      '-X',
      'PROPFIND',
      '-H',
      'Depth: 0',
      url('/dav/calendars/ann@example.test/'),
    ]);
    assert.equal(cal.status, 403);
  });

  it('the "contacts" free/busy rule lets in exactly the addresses in the owner\'s address books', async () => {
    const rule = await curl(
      [...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: application/json', url('/freebusy/ann@example.test/sharing')],
      JSON.stringify({ policy: 'contacts', allow: [] }),
    );
    assert.equal(rule.status, 200);
    const fb = (who: string) => curl([...as(who), url('/freebusy/ann@example.test?start=2026-11-02T00:00:00Z&end=2026-11-03T00:00:00Z')]);
    assert.equal((await fb('ben@example.test')).status, 404, "ben is not in ann's contacts yet");
    const card = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ben\r\nUID:ben-card\r\nEMAIL:BEN@example.test\r\nEND:VCARD\r\n';
    assert.equal(
      (await curl([...as('ann@example.test'), '-X', 'PUT', '-H', 'content-type: text/vcard', url(`${book}ben.vcf`)], card)).status,
      201,
    );
    const ok = await fb('ben@example.test');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /BEGIN:VFREEBUSY/);
    assert.equal((await fb('cid@example.test')).status, 404, "cid is in nobody's contacts");
    assert.equal((await curl([...as('ann@example.test'), '-X', 'DELETE', url(`${book}ben.vcf`)])).status, 204);
    assert.equal((await fb('ben@example.test')).status, 404, 'removed from the contacts, refused again');
  });
});
