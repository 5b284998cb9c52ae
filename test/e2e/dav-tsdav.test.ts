// tsdav (npm, a CalDAV/CardDAV client library web apps use): discovery from the bare server URL,
// calendars and address books, PUT, a time-range calendar-query, sync-collection and vCards.
// The client runs in its own process so it can trust the server's CA (NODE_EXTRA_CA_CERTS).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const USER = 'alice@example.test';

describe('tsdav against Fingerpost', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: USER, password: PASSWORD });
  });
  after(async () => t?.close());

  it('finds calendars and address books, writes, queries by time range, syncs', async () => {
    const { stdout } = await exec(
      process.execPath,
      [path.join(import.meta.dirname, 'dav-tsdav.client.ts'), `${t.baseUrl}/`, USER, PASSWORD],
      {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: t.caFile },
        timeout: 60_000,
      },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.ok(r.calendars.includes(`/dav/calendars/${USER}/default/`), JSON.stringify(r.calendars));
    assert.equal(r.put_nov, 201);
    assert.equal(r.put_dec, 201);
    assert.deepEqual(r.november, ['nov.ics']);
    assert.match(r.november_data, /UID:nov\r\n/);
    assert.deepEqual(r.sync, [{ token: true, objects: 2 }]);
    assert.deepEqual(r.books, [`/dav/addressbooks/${USER}/contacts/`]);
    assert.equal(r.put_card, 201);
    // tsdav trims the text it reads from the XML answer.
    assert.deepEqual(r.cards, ['BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann\r\nFN:Ann\r\nEMAIL:ann@example.org\r\nEND:VCARD']);
  });
});
