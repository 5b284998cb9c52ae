// `fingerpost admin import ics|vcf` against a running server's store: a vdir (one object per file,
// as vdirsyncer and Radicale keep calendars) comes in byte for byte — CalDAV and CardDAV GETs (curl)
// return the file's exact bytes — a multi-UID export is split, and a broken file is reported and
// skipped while the rest is imported.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlHttp } from '../helpers/curl-http.ts';
import { commandSkip } from '../helpers/peers.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const USER = 'alice@example.test';

// Folded lines, an X- property with parameters, a VTIMEZONE and LF-only line ends in one file:
// all of it must come back as it was written.
const EXACT = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Radicale export//EN',
  'X-WR-CALNAME:Home',
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:STANDARD',
  'DTSTART:19701025T030000',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:dentist-1',
  'DTSTAMP:20260101T000000Z',
  'DTSTART;TZID=Europe/Berlin:20261110T090000',
  'DTEND;TZID=Europe/Berlin:20261110T100000',
  'SUMMARY:Dentist',
  'DESCRIPTION:A long description that a careful exporter folded at seventy-five',
  '  octets, as RFC 5545 asks.',
  'X-CUSTOM;X-PARAM="a;b":kept as is',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\n');

const event = (uid: string) => [
  `BEGIN:VEVENT`,
  `UID:${uid}`,
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20261111T090000Z',
  `SUMMARY:${uid}`,
  'END:VEVENT',
];
const EXPORT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//x//EN', ...event('a-1'), ...event('b-2'), 'END:VCALENDAR', ''].join('\r\n');

const CARD_A =
  'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-a\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEMAIL;TYPE=INTERNET:ann@example.org\r\nEND:VCARD\r\n';
const CARD_B = 'BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\nFN:Bo\nX-ODD;x-param=1:value\nEND:VCARD\n';

describe('admin import ics|vcf (byte for byte)', { skip: commandSkip('curl', 'curl') }, () => {
  let t: TestServer;
  let tmp: string;
  const get = (p: string) => curlHttp(t.caFile, tmp, ['-u', `${USER}:${PASSWORD}`, `${t.baseUrl}${p}`]);

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-davimport-'));
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: USER, password: PASSWORD });
  });
  after(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('a vdir of .ics files: each object as it was, a multi-UID export split, a broken file reported', async () => {
    const vdir = path.join(tmp, 'home');
    await mkdir(vdir);
    await writeFile(path.join(vdir, 'dentist-1.ics'), EXACT);
    await writeFile(path.join(vdir, 'export.ics'), EXPORT);
    await writeFile(path.join(vdir, 'broken.ics'), 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n');
    const r = await runCli(['admin', 'import', 'ics', USER, vdir, '--calendar', 'home', '--data', t.dataDir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /imported 3 object\(s\): 1 byte for byte, 2 split/);
    assert.match(r.stdout, /skipped 1:\n {2}\S*broken\.ics: /);
    const got = await get(`/dav/calendars/${USER}/home/dentist-1.ics`);
    assert.equal(got.status, 200);
    assert.equal(got.body, EXACT);
    assert.equal(Buffer.from(got.body).equals(await readFile(path.join(vdir, 'dentist-1.ics'))), true);
    assert.equal((await get(`/dav/calendars/${USER}/home/b-2.ics`)).status, 200);
    // Run again: the same objects, nothing doubled, the same ETag.
    const again = await runCli([
      'admin',
      'import',
      'ics',
      USER,
      path.join(vdir, 'dentist-1.ics'),
      '--calendar',
      'home',
      '--data',
      t.dataDir,
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await get(`/dav/calendars/${USER}/home/dentist-1.ics`)).headers.etag, got.headers.etag);
  });

  it('a .vcf with several cards: each card’s own bytes, whatever its line ends', async () => {
    const file = path.join(tmp, 'all.vcf');
    await writeFile(file, CARD_A + CARD_B);
    const r = await runCli(['admin', 'import', 'vcf', USER, file, '--data', t.dataDir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /imported 2 object\(s\): 2 byte for byte/);
    assert.equal((await get(`/dav/addressbooks/${USER}/contacts/card-a.vcf`)).body, CARD_A);
    const books = await t.services.db.kysely.selectFrom('address_objects').select(['name', 'vcard']).execute();
    const stored = books.find((c) => c.vcard.includes('FN:Bo'));
    assert.equal(stored?.vcard, CARD_B);
    assert.equal((await get(`/dav/addressbooks/${USER}/contacts/${stored!.name}`)).body, CARD_B);
  });
});
