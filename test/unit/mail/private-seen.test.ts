// Per-user \Seen on shared mailboxes (RFC 4314 §4 "s") in the store, on SQLite and
// PostgreSQL: a reader who is not the owner reads and sets its own \Seen (STORE, JMAP keywords),
// the other keywords stay shared, counts are per reader, every change raises the MODSEQ, and the
// reader's rows go with the message.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MailStore } from '../../../src/mail/store.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

const raw = (n: number) => Buffer.from(`From: a@example.test\r\nSubject: m${n}\r\nMessage-ID: <m${n}@seen.test>\r\n\r\nbody ${n}\r\n`);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`per-user \\Seen in shared mailboxes (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let store: MailStore;
    let alice = 0;
    let bob = 0;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-private-seen-'));
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      store = new MailStore(db, new FsBlobStore(path.join(dir, 'blobs')), mimeParser);
      alice = (await admin.addUser({ address: 'alice@example.test', password: 'a long password' })).account.id;
      bob = (await admin.addUser({ address: 'bob@example.test', password: 'a long password' })).account.id;
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('STORE by a reader sets its own \\Seen; the owner’s and the shared keywords are unchanged', async () => {
      const box = await store.createMailbox(alice, 'Team');
      for (const n of [1, 2, 3]) await store.append(alice, box.id, raw(n), { keywords: n === 3 ? ['$seen'] : [] });
      const [e1, e2, e3] = await store.listEntries(box.id);
      const r = await store.storeKeywords(alice, box.id, [e1!.uid, e2!.uid], 'add', ['$seen', '$flagged'], { viewer: bob });
      assert.deepEqual(
        r.updated.map((u) => u.keywords),
        [
          ['$flagged', '$seen'],
          ['$flagged', '$seen'],
        ],
      );
      assert.ok(
        r.updated.every((u) => u.modseq > e3!.modseq),
        'a reader’s change raises the MODSEQ (RFC 7162 §3.1.1)',
      );
      // The owner sees the shared $flagged, not the reader's \Seen.
      const owner = await store.listEntries(box.id);
      assert.deepEqual(
        owner.map((e) => e.keywords),
        [['$flagged'], ['$flagged'], ['$seen']],
      );
      assert.deepEqual(await store.seenIn(bob, box.id), new Set([e1!.messageId, e2!.messageId]));
      assert.deepEqual(await store.seenBy(bob, [e2!.messageId, e3!.messageId]), new Set([e2!.messageId]));
      assert.equal((await store.mailboxCounts(box.id)).unseen, 2);
      assert.equal((await store.mailboxCounts(box.id, bob)).unseen, 1, 'message 3 is seen by alice only');
      // The owner's \Seen on message 3 does not make it seen for bob; FLAGS (…) by bob replaces only his own.
      const set = await store.storeKeywords(alice, box.id, [e3!.uid], 'set', ['$answered'], { viewer: bob });
      assert.deepEqual(set.updated[0]!.keywords, ['$answered']);
      assert.deepEqual((await store.listEntries(box.id))[2]!.keywords, ['$answered', '$seen']);
      const seen3 = await store.storeKeywords(alice, box.id, [e3!.uid], 'set', ['$answered', '$seen'], { viewer: bob });
      assert.deepEqual(seen3.updated[0]!.keywords, ['$answered', '$seen']);
      assert.equal((await store.mailboxCounts(box.id, bob)).unseen, 0);
      // Nothing to change for the reader: no new MODSEQ.
      const again = await store.storeKeywords(alice, box.id, [e1!.uid], 'add', ['$seen'], { viewer: bob });
      assert.deepEqual(again.updated, []);
      // Removing it is per reader as well.
      await store.storeKeywords(alice, box.id, [e1!.uid], 'remove', ['$seen'], { viewer: bob });
      assert.equal((await store.mailboxCounts(box.id, bob)).unseen, 1);
      // The owner as viewer is the owner.
      await store.storeKeywords(alice, box.id, [e1!.uid], 'add', ['$seen'], { viewer: alice });
      assert.deepEqual((await store.listEntries(box.id))[0]!.keywords, ['$flagged', '$seen']);
      assert.equal((await store.mailboxCounts(box.id, bob)).unseen, 1);
    });

    it('JMAP keywords of a reader: getMessages and setKeywords use its own $seen', async () => {
      const box = await store.createMailbox(alice, 'Jmap');
      const { messageId } = await store.append(alice, box.id, raw(10), { keywords: ['$seen'] });
      const [asBob] = await store.getMessages(alice, [messageId], bob);
      assert.deepEqual(asBob!.keywords, []);
      const before = (await store.getMessages(alice, [messageId]))[0]!.modseq;
      await store.setKeywords(alice, messageId, ['$seen', 'work'], bob);
      assert.deepEqual((await store.getMessages(alice, [messageId], bob))[0]!.keywords, ['$seen', 'work']);
      const owner = (await store.getMessages(alice, [messageId]))[0]!;
      assert.deepEqual(owner.keywords, ['$seen', 'work']);
      assert.ok(owner.modseq > before);
      await store.setKeywords(alice, messageId, ['work'], bob);
      assert.deepEqual((await store.getMessages(alice, [messageId], bob))[0]!.keywords, ['work']);
      assert.deepEqual((await store.getMessages(alice, [messageId]))[0]!.keywords, ['$seen', 'work'], 'the owner keeps hers');
    });

    it('JMAP Email/query: a reader’s hasKeyword/notKeyword $seen test its own (RFC 8621 §4.4.1)', async () => {
      const box = await store.createMailbox(alice, 'Query');
      const a = await store.append(alice, box.id, raw(30), { keywords: ['$seen'] });
      const b = await store.append(alice, box.id, raw(31));
      await store.storeKeywords(alice, box.id, [b.uid], 'add', ['$seen'], { viewer: bob });
      const query = (keyword: 'hasKeyword' | 'notKeyword', reader?: number) =>
        store.emailQueries.run(
          alice,
          {
            filter: {
              op: 'AND',
              conditions: [
                { op: 'condition', condition: { inMailbox: box.id } },
                { op: 'condition', condition: { [keyword]: '$seen' } },
              ],
            },
            sort: [],
            collapseThreads: false,
          },
          null,
          false,
          reader,
        );
      assert.deepEqual((await query('hasKeyword')).ids, [a.messageId]);
      assert.deepEqual((await query('hasKeyword', bob)).ids, [b.messageId]);
      assert.deepEqual((await query('notKeyword', bob)).ids, [a.messageId]);
      assert.deepEqual((await query('notKeyword', alice)).ids, [b.messageId]);
    });

    it('a reader’s rows go with the message', async () => {
      const box = await store.createMailbox(alice, 'Gone');
      const { uid, messageId } = await store.append(alice, box.id, raw(20));
      await store.storeKeywords(alice, box.id, [uid], 'add', ['$seen'], { viewer: bob });
      assert.equal((await store.seenBy(bob, [messageId])).size, 1);
      await store.destroyMessages(alice, [messageId]);
      assert.equal((await store.seenBy(bob, [messageId])).size, 0);
    });
  });
}
