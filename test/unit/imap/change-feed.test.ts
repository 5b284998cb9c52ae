// The shared change feed (src/protocols/imap/change-feed.ts): sessions asking at the same
// HIGHESTMODSEQ share one store query, every answer holds at least what the store's own change
// query (RFC 7162 §3.1.4) holds, and a session's view never goes back to an older entry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ChangeFeeds } from '../../../src/protocols/imap/change-feed.ts';
import { SelectedMailbox } from '../../../src/protocols/imap/selected.ts';
import { type MemoryServer, memoryServer } from '../../helpers/memory-server.ts';

let m: MemoryServer;
let accountId: number;

before(async () => {
  m = await memoryServer('feed@example.test', 'feed-password-1');
  const row = await m.services.db.kysely
    .selectFrom('accounts')
    .select('id')
    .where('address', '=', 'feed@example.test')
    .executeTakeFirstOrThrow();
  accountId = row.id;
});
after(() => m?.close());

const raw = (i: number) => Buffer.from(`Subject: f${i}\r\nMessage-ID: <f${i}@x>\r\n\r\nbody ${i}\r\n`);

test('one query per new HIGHESTMODSEQ, answers covering the store query', async () => {
  const mail = m.services.mail;
  const box = await mail.createMailbox(accountId, 'Feed');
  await mail.appendMany(
    accountId,
    box.id,
    Array.from({ length: 10 }, (_, i) => ({ raw: raw(i) })),
  );
  const feeds = new ChangeFeeds(mail);
  const now = async () => (await mail.getMailboxById(accountId, box.id))!;
  const h0 = (await now()).highestModseq;
  await feeds.changes(await now(), h0, h0);
  assert.equal(feeds.queries, 1, 'the first ask starts the feed');

  // A covering answer: every entry and expunge the store reports, with the same MODSEQ and flags.
  const covers = async (since: number, got: Awaited<ReturnType<ChangeFeeds['changes']>>) => {
    const direct = await mail.mailboxChanges(box.id, since);
    for (const e of direct.changed) {
      const f = got.changed.find((x) => x.uid === e.uid);
      assert.ok(f, `uid ${e.uid} missing`);
      assert.equal(f.modseq, e.modseq);
      assert.deepEqual([...f.keywords].sort(), [...e.keywords].sort());
    }
    for (const uid of direct.expunged) assert.ok(got.expunged.includes(uid), `expunged ${uid} missing`);
    assert.deepEqual(
      got.changed.map((e) => e.uid),
      [...got.changed.map((e) => e.uid)].sort((a, b) => a - b),
      'UID order',
    );
  };

  await mail.storeKeywords(accountId, box.id, [3], 'add', ['$flagged']);
  const b1 = await now();
  const many = await Promise.all(Array.from({ length: 20 }, () => feeds.changes(b1, h0, b1.highestModseq)));
  assert.equal(feeds.queries, 2, '20 sessions at one MODSEQ share one query');
  for (const r of many) await covers(h0, r);
  assert.deepEqual(
    many[0]!.changed.map((e) => e.uid),
    [3],
  );

  await mail.expunge(accountId, box.id, { uids: [5] });
  await mail.append(accountId, box.id, raw(99), { keywords: ['todo'] });
  await mail.storeKeywords(accountId, box.id, [3], 'remove', ['$flagged']);
  const b2 = await now();
  for (const since of [h0, b1.highestModseq]) await covers(since, await feeds.changes(b2, since, b2.highestModseq));
  assert.equal(feeds.queries, 3, 'sessions at different MODSEQs still share the step');
  const latest = await feeds.changes(b2, b1.highestModseq, b2.highestModseq);
  assert.ok(latest.expunged.includes(5));
  assert.deepEqual(latest.changed.find((e) => e.uid === 3)?.keywords, []);
  assert.ok(latest.changed.some((e) => e.uid === 11));

  // Below the feed's base: the store is asked directly, and the answer is still complete.
  await covers(0, await feeds.changes(b2, 0, b2.highestModseq));
  assert.equal(feeds.queries, 4);
});

test('a view keeps a newer entry than the one a feed reports', async () => {
  const mail = m.services.mail;
  const box = await mail.createMailbox(accountId, 'Guard');
  await mail.append(accountId, box.id, raw(1));
  const mailbox = (await mail.getMailboxById(accountId, box.id))!;
  const entries = await mail.listEntries(box.id);
  const view = new SelectedMailbox(mailbox, entries, false, mailbox.highestModseq);
  const old = entries[0]!;
  // The session's own STORE moved the message on; an older report of it must not undo that.
  view.noteStored(old.uid, ['$seen'], old.modseq + 5);
  const update = view.apply([{ ...old, keywords: [] }], [], mailbox.highestModseq, true);
  assert.deepEqual(update?.changed, []);
  assert.deepEqual([...view.keywordsAt(1)], ['$seen']);
  assert.equal(view.modseqAt(1), old.modseq + 5);
});
