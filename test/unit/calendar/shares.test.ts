// Share invites (calendars and address books), principal search and keyset-paged query candidates
// against SQLite and PostgreSQL (one contract, two dialects).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { CalendarService } from '../../../src/calendar/service.ts';
import { CalendarStore } from '../../../src/calendar/store.ts';
import { ContactsStore } from '../../../src/contacts/store.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`share invites and principal search (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let store: CalendarStore;
    let contacts: ContactsStore;
    let service: CalendarService;
    let ann: DirectoryAccount;
    let ben: DirectoryAccount;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-shares-'));
      const directory = new SqlDirectory(db);
      const admin = new AccountAdmin(db, directory);
      await admin.addDomain('s.example');
      await admin.addDomain('other.example');
      ann = (await admin.addUser({ address: 'ann@s.example', password: 'correct horse battery', displayName: 'Ann Smith' })).account;
      ben = (await admin.addUser({ address: 'ben@s.example', password: 'correct horse battery', displayName: 'Ben 100%_Jones' })).account;
      await admin.addUser({ address: 'ben@other.example', password: 'correct horse battery', displayName: 'Ben Other' });
      store = new CalendarStore(db);
      contacts = new ContactsStore(db);
      service = new CalendarService({
        store,
        directory,
        settings: { maxRangeMs: 366 * 86_400_000, maxInstances: 5000, defaultTimezone: 'UTC', maxIcsBytes: 1 << 20 },
      });
    });

    after(async () => {
      await dispose();
    });

    it('a calendar share is an invite until accepted; declined invites come back when sent again', async () => {
      const cal = await store.ensureCalendar(ann.id, 'work', 'UTC');
      assert.equal(await store.shares.share(cal, 'ben@s.example', 'read', 'Work'), true);
      assert.deepEqual(await store.shares.sharedWith(ben.id), []);
      const [invite] = await store.shares.invites(ben.id);
      assert.deepEqual(
        { ...invite, createdAt: 0 },
        {
          type: 'calendar',
          collectionId: cal.id,
          owner: 'ann@s.example',
          ownerDisplayName: 'Ann Smith',
          collectionName: 'work',
          displayName: cal.displayName,
          access: 'read',
          status: 'pending',
          summary: 'Work',
          createdAt: 0,
        },
      );
      assert.equal(await store.shares.reply(cal.id, ben.id, false), true);
      assert.deepEqual(await store.shares.invites(ben.id), []);
      assert.equal((await store.shares.list(cal.id))[0]?.status, 'declined');
      assert.equal(await store.shares.share(cal, 'ben@s.example', 'read-write'), true);
      assert.equal((await store.shares.invites(ben.id))[0]?.access, 'read-write');
      await store.shares.reply(cal.id, ben.id, true);
      const [mounted] = await store.shares.sharedWith(ben.id);
      assert.equal(mounted?.name, `shared-${cal.id}`);
      assert.equal(mounted?.shared?.access, 'read-write');
      // Changing the access of an accepted share keeps it accepted.
      assert.equal(await store.shares.share(cal, 'ben@s.example', 'read'), false);
      assert.equal((await store.shares.sharedWith(ben.id))[0]?.shared?.access, 'read');
      await assert.rejects(store.shares.share(cal, 'ben@other.example', 'read'), /same domain/);
      assert.equal(await store.shares.unshare(cal.id, 'ben@s.example'), true);
      assert.deepEqual(await store.shares.list(cal.id), []);
    });

    it('address books are shared the same way', async () => {
      const [book] = await contacts.ensureDefault(ann.id);
      await contacts.shares.share(book!, 'ben@s.example', 'read');
      assert.deepEqual(await contacts.shares.sharedWith(ben.id), []);
      assert.equal((await contacts.shares.invites(ben.id))[0]?.type, 'addressbook');
      await contacts.shares.reply(book!.id, ben.id, true);
      const [shared] = await contacts.shares.sharedWith(ben.id, book!.id);
      assert.deepEqual(
        [shared?.name, shared?.shared],
        [`shared-${book!.id}`, { owner: 'ann@s.example', ownerName: 'contacts', access: 'read' }],
      );
    });

    it('principal search stays in the domain, matches case-insensitively, escapes LIKE characters, is bounded', async () => {
      const search = (test: 'anyof' | 'allof', limit: number, ...terms: Array<['displayname' | 'address', string]>) =>
        store.principals
          .search(ann.domainId, { test, terms: terms.map(([field, text]) => ({ field, text })) }, limit)
          .then((r) => r.map((p) => p.address));
      assert.deepEqual(await search('allof', 10, ['displayname', 'BEN']), ['ben@s.example']);
      assert.deepEqual(await search('allof', 10, ['displayname', '100%_']), ['ben@s.example']);
      assert.deepEqual(await search('allof', 10, ['displayname', '%']), ['ben@s.example']);
      assert.deepEqual(await search('anyof', 10, ['displayname', 'smith'], ['address', 'ben@']), ['ann@s.example', 'ben@s.example']);
      assert.deepEqual(await search('allof', 10, ['displayname', 'smith'], ['address', 'ben@']), []);
      assert.deepEqual(await search('anyof', 1, ['address', 's.example']), ['ann@s.example']);
    });

    it('query candidates page by name', async () => {
      const body = Array.from(
        { length: 7 },
        (_, i) => `BEGIN:VEVENT\r\nUID:p${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T0${i}0000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n`,
      ).join('');
      await service.importIcs(ann, 'paged', `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n${body}END:VCALENDAR\r\n`);
      const cal = (await store.getCalendar(ann.id, 'paged'))!;
      const range = { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 2, 2) };
      const names: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.queryCandidates(cal.id, range, 3, after);
        names.push(...page.map((o) => o.name));
        if (page.length < 3) break;
        after = page.at(-1)!.name;
      }
      assert.equal(names.length, 7);
      assert.deepEqual(names, [...names].sort());
    });
  });
}
