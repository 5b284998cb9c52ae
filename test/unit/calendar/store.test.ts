// The calendar store and service against SQLite and PostgreSQL (one contract, two dialects).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { IcsError } from '../../../src/calendar/ics.ts';
import { loadObject } from '../../../src/calendar/objects.ts';
import { Scheduler } from '../../../src/calendar/scheduling/scheduler.ts';
import { CalendarService } from '../../../src/calendar/service.ts';
import { CalendarStore, PreconditionFailed } from '../../../src/calendar/store.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

const cal = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;
const ev = (uid: string, ...lines: string[]) =>
  `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\n${lines.map((l) => `${l}\r\n`).join('')}END:VEVENT\r\n`;
const nov = { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) };

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`calendar store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let service: CalendarService;
    let directory: SqlDirectory;
    let bob: DirectoryAccount;
    let carol: DirectoryAccount;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-cal-'));
      directory = new SqlDirectory(db);
      const admin = new AccountAdmin(db, directory);
      await admin.addDomain('two.example');
      bob = (await admin.addUser({ address: 'bob@two.example', password: 'correct horse battery' })).account;
      carol = (await admin.addUser({ address: 'carol@two.example', password: 'correct horse battery' })).account;
      service = new CalendarService({
        store: new CalendarStore(db),
        directory,
        settings: { maxRangeMs: 366 * 86_400_000, maxInstances: 5000, defaultTimezone: 'UTC', maxIcsBytes: 1 << 20 },
      });
    });

    after(async () => {
      await dispose();
    });

    it('imports a file (upsert by UID) and answers free/busy from simple and recurring objects', async () => {
      const text = cal(
        ev('simple', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z'),
        ev('weekly', 'DTSTART:20261103T140000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY'),
        ev('free', 'DTSTART:20261104T090000Z', 'DTEND:20261104T100000Z', 'TRANSP:TRANSPARENT'),
        ev('old', 'DTSTART:20250102T090000Z', 'DTEND:20250102T100000Z'),
      );
      const r = await service.importIcs(bob, 'default', text);
      assert.deepEqual([r.created, r.updated, r.unchanged], [4, 0, 0]);
      const again = await service.importIcs(bob, 'default', text);
      assert.deepEqual([again.created, again.updated, again.unchanged], [0, 0, 4]);
      const fb = await service.freeBusy(bob, nov);
      assert.deepEqual(
        fb.busy.map((p) => new Date(p.start).toISOString().slice(0, 13)),
        ['2026-11-02T09', '2026-11-03T14', '2026-11-10T14', '2026-11-17T14', '2026-11-24T14'],
      );
      // Changing one event replaces it in place.
      const moved = await service.importIcs(bob, 'default', cal(ev('simple', 'DTSTART:20261102T110000Z', 'DTEND:20261102T120000Z')));
      assert.equal(moved.updated, 1);
      assert.equal(new Date((await service.freeBusy(bob, nov)).busy[0]!.start).toISOString(), '2026-11-02T11:00:00.000Z');
      // Other accounts see nothing of it.
      assert.deepEqual((await service.freeBusy(carol, nov)).busy, []);
    });

    it('malformed iCalendar stores nothing at all', async () => {
      const before = await service.store.listObjects((await service.store.getCalendar(bob.id, 'default'))!.id);
      await assert.rejects(
        service.importIcs(bob, 'default', cal(ev('new-one', 'DTSTART:20261105T090000Z'), ev('broken', 'DTSTART:20261399T000000Z'))),
        (err: unknown) => err instanceof IcsError && err.line === 12,
      );
      const after = await service.store.listObjects((await service.store.getCalendar(bob.id, 'default'))!.id);
      assert.deepEqual(after, before);
    });

    it('PUT semantics: create, replace with If-Match, If-None-Match, UID clash, delete', async () => {
      const put = (name: string, uid: string, cond = {}) =>
        service.putObject(bob, 'work', name, cal(ev(uid, 'DTSTART:20261106T090000Z', 'DTEND:20261106T100000Z')), cond);
      const first = await put('meeting.ics', 'm1', { ifNoneMatch: '*' });
      assert.equal(first.created, true);
      await assert.rejects(put('meeting.ics', 'm1', { ifNoneMatch: '*' }), PreconditionFailed);
      await assert.rejects(put('meeting.ics', 'm1', { ifMatch: '"stale"' }), PreconditionFailed);
      const second = await service.putObject(
        bob,
        'work',
        'meeting.ics',
        cal(ev('m1', 'DTSTART:20261106T100000Z', 'DTEND:20261106T110000Z')),
        { ifMatch: first.etag },
      );
      assert.equal(second.created, false);
      assert.notEqual(second.etag, first.etag);
      await assert.rejects(put('other.ics', 'm1'), /UID m1 is already used by meeting.ics/);
      const calendar = (await service.store.getCalendar(bob.id, 'work'))!;
      assert.equal((await service.store.getObject(calendar.id, 'meeting.ics'))!.etag, second.etag);
      assert.equal(await service.store.deleteObject(calendar, 'meeting.ics', { ifMatch: second.etag }), true);
      assert.equal(await service.store.getObject(calendar.id, 'meeting.ics'), undefined);
    });

    it('calendars left out of free/busy do not count', async () => {
      await service.importIcs(bob, 'private', cal(ev('p', 'DTSTART:20261120T090000Z', 'DTEND:20261120T100000Z')));
      const c = (await service.store.getCalendar(bob.id, 'private'))!;
      const count = () => service.freeBusy(bob, { start: Date.UTC(2026, 10, 20), end: Date.UTC(2026, 10, 21) }).then((r) => r.busy.length);
      assert.equal(await count(), 1);
      await service.store.updateCalendar(c.id, { includeInFreeBusy: false });
      assert.equal(await count(), 0);
    });

    it('sharing: account rule over domain default over nobody', async () => {
      const remote = { kind: 'remote', address: 'alice@one.example', issuer: 'https://one.example/oidc' } as const;
      assert.deepEqual(await service.effectiveRule(bob), { rule: { policy: 'nobody', allow: [] }, source: 'default' });
      assert.equal(await service.mayRead(bob, remote), false);
      assert.equal(await service.mayRead(bob, { kind: 'local', address: 'bob@two.example' }), true, 'the owner always');
      await service.setDomainDefault('two.example', { policy: 'list', allow: ['one.example'] });
      assert.equal((await service.effectiveRule(bob)).source, 'domain');
      assert.equal(await service.mayRead(bob, remote), true);
      await service.store.setSharing(bob.id, { policy: 'domain', allow: [] });
      assert.equal(await service.mayRead(bob, remote), false);
      assert.equal(await service.mayRead(bob, { kind: 'local', address: 'carol@two.example' }), true);
      await service.store.clearSharing(bob.id);
      await service.setDomainDefault('two.example', undefined);
      assert.equal((await service.effectiveRule(bob)).source, 'default');
      // A remote assertion can never stand in for the owner.
      assert.equal(await service.mayRead(bob, { kind: 'remote', address: 'bob@two.example', issuer: 'https://evil.example' }), false);
    });

    it('replay cache: an assertion key is accepted once; expired keys are pruned', async () => {
      assert.equal(await service.store.recordAssertion('k1', Date.now() + 60_000), true);
      assert.equal(await service.store.recordAssertion('k1', Date.now() + 60_000), false);
      assert.equal(await service.store.recordAssertion('old', Date.now() - 1), true);
      await service.store.pruneAssertions();
      assert.equal(await service.store.recordAssertion('old', Date.now() + 1), true);
      assert.equal(await service.store.recordAssertion('k1', Date.now() + 1), false);
    });

    it('subscriptions are claimed by one caller at a time', async () => {
      const c = await service.store.createCalendar(bob.id, {
        name: 'feed',
        timezone: 'UTC',
        subscription: { url: 'https://feeds.example/x.ics', intervalMs: 3_600_000 },
      });
      assert.equal(c.subscription?.url, 'https://feeds.example/x.ics');
      const [a, b] = await Promise.all([service.store.claimDueSubscriptions(10), service.store.claimDueSubscriptions(10)]);
      assert.equal(a!.filter((x) => x.id === c.id).length + b!.filter((x) => x.id === c.id).length, 1);
      assert.deepEqual(await service.store.claimDueSubscriptions(10), []);
    });

    it('scheduling: the inbox stays out of calendars and free/busy; inbox and outbox are reserved names', async () => {
      const inbox = await service.store.ensureInbox(carol.id, 'UTC');
      assert.equal(inbox.kind, 'inbox');
      assert.equal((await service.store.ensureInbox(carol.id, 'UTC')).id, inbox.id);
      assert.ok(!(await service.store.listCalendars(carol.id)).some((c) => c.id === inbox.id));
      assert.equal(await service.store.getCalendar(carol.id, 'inbox'), undefined);
      const { object } = service.prepareExact(cal(ev('in-1', 'DTSTART:20261105T090000Z', 'DTEND:20261105T100000Z')), 'UTC');
      await service.store.putObject(inbox, 'in-1.ics', object);
      assert.deepEqual((await service.freeBusy(carol, nov)).busy, []);
      assert.equal(await service.store.findByUid(carol.id, 'in-1'), undefined);
      for (const name of ['inbox', 'Outbox'])
        await assert.rejects(service.store.createCalendar(carol.id, { name, timezone: 'UTC' }), /not inbox or outbox/);
    });

    it('Schedule-Tag: kept unless set, checked by If-Schedule-Tag-Match', async () => {
      const c = await service.store.ensureCalendar(carol.id, 'default', 'UTC');
      const one = service.prepareExact(cal(ev('st', 'DTSTART:20261106T090000Z', 'DTEND:20261106T100000Z')), 'UTC').object;
      await service.store.putObject(c, 'st.ics', one, {}, '"t1"');
      const two = service.prepareExact(cal(ev('st', 'DTSTART:20261106T090000Z', 'DTEND:20261106T110000Z')), 'UTC').object;
      await service.store.putObject(c, 'st.ics', two, { ifScheduleTagMatch: '"t1"' });
      assert.equal((await service.store.getObject(c.id, 'st.ics'))?.scheduleTag, '"t1"');
      await assert.rejects(service.store.putObject(c, 'st.ics', one, { ifScheduleTagMatch: '"t0"' }), PreconditionFailed);
      assert.equal((await service.store.findByUid(carol.id, 'st'))?.object.name, 'st.ics');
    });

    it('implicit scheduling between two accounts: REQUEST into the inbox and a copy, REPLY back, CANCEL', async () => {
      const scheduler = new Scheduler({ calendar: service, directory });
      const organizer = await service.store.ensureCalendar(bob.id, 'default', 'UTC');
      const invite = (status = 'CONFIRMED') =>
        cal(
          ev(
            'meet-1',
            'DTSTART:20261109T090000Z',
            'DTEND:20261109T100000Z',
            'SUMMARY:Review',
            `STATUS:${status}`,
            'ORGANIZER:mailto:bob@two.example',
            'ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@two.example',
            'ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@two.example',
            'ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:nobody@two.example',
            'ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:dan@elsewhere.example',
          ),
        );
      const put = async (account: DirectoryAccount, c: typeof organizer, name: string, text: string) => {
        const previous = await service.store.getObject(c.id, name);
        await service.store.putObject(c, name, service.prepareExact(text, 'UTC').object);
        return scheduler.afterWrite(account, c, name, previous, (await service.store.getObject(c.id, name))!);
      };
      const first = await put(bob, organizer, 'meet-1.ics', invite());
      assert.equal(first.rewritten, true);
      const stored = (await service.store.getObject(organizer.id, 'meet-1.ics'))!.ics.replace(/\r\n[ \t]/g, '');
      // local: delivered; unknown local: invalid user; remote without a mail queue: unavailable
      assert.match(stored, /SCHEDULE-STATUS=1\.2:mailto:carol@two\.example/);
      assert.match(stored, /SCHEDULE-STATUS=3\.7:mailto:nobody@two\.example/);
      assert.match(stored, /SCHEDULE-STATUS=5\.1:mailto:dan@elsewhere\.example/);
      // The same object again (DTSTAMP and answers aside) sends nothing and keeps the tag.
      const again = await put(bob, organizer, 'meet-1.ics', stored);
      assert.deepEqual(again, { scheduleTag: first.scheduleTag, rewritten: false });

      const inbox = await service.store.ensureInbox(carol.id, 'UTC');
      const delivered = (await service.store.listObjects(inbox.id)).filter((o) => o.uid === 'meet-1');
      assert.equal(delivered.length, 1);
      assert.match((await service.store.getObject(inbox.id, delivered[0]!.name))!.ics, /METHOD:REQUEST/);
      const copy = (await service.store.findByUid(carol.id, 'meet-1'))!;
      assert.equal(copy.calendar.name, 'default');
      assert.ok(copy.object.scheduleTag);
      assert.doesNotMatch(copy.object.ics, /METHOD|SCHEDULE-STATUS/);
      // carol's busy time now includes the meeting.
      assert.ok((await service.freeBusy(carol, nov)).busy.some((p) => p.start === Date.UTC(2026, 10, 9, 9)));

      // carol accepts: the REPLY updates bob's copy, and her Schedule-Tag stays.
      const accepted = copy.object.ics.replace('PARTSTAT=NEEDS-ACTION:mailto:carol', 'PARTSTAT=ACCEPTED:mailto:carol');
      const carolOutcome = await put(carol, copy.calendar, copy.object.name, accepted);
      assert.deepEqual(carolOutcome, { scheduleTag: copy.object.scheduleTag, rewritten: false });
      const replied = (await service.store.getObject(organizer.id, 'meet-1.ics'))!.ics.replace(/\r\n[ \t]/g, '');
      assert.match(replied, /ATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2\.0:mailto:carol@two\.example/);

      // A REPLY from someone the object does not name changes nothing.
      const stranger = (await directory.findByAddress('carol@two.example'))!;
      await scheduler.send({ ...stranger, address: 'eve@two.example' }, 'REPLY', loadObject(accepted.replace(/carol@/g, 'eve@')), [
        'bob@two.example',
      ]);
      assert.doesNotMatch((await service.store.getObject(organizer.id, 'meet-1.ics'))!.ics, /eve@/);

      // bob removes the event: carol's copy is cancelled and stops counting as busy.
      await scheduler.afterDelete(bob, (await service.store.getObject(organizer.id, 'meet-1.ics'))!);
      const cancelled = (await service.store.findByUid(carol.id, 'meet-1'))!;
      assert.match(cancelled.object.ics, /STATUS:CANCELLED/);
      assert.ok(!(await service.freeBusy(carol, nov)).busy.some((p) => p.start === Date.UTC(2026, 10, 9, 9)));
    });
  });
}
