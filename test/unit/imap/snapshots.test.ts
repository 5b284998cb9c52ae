// The shared SELECT snapshot (src/protocols/imap/snapshots.ts): after appends, flag changes and
// expunges, the snapshot built from the last one plus the CONDSTORE changes equals a fresh read of
// the mailbox, and a paged first read of more than one page equals the store's whole list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { packEntries } from '../../../src/protocols/imap/selected.ts';
import { EntrySnapshots } from '../../../src/protocols/imap/snapshots.ts';
import { type MemoryServer, memoryServer } from '../../helpers/memory-server.ts';

let m: MemoryServer;
let accountId: number;

before(async () => {
  m = await memoryServer('snap@example.test', 'snap-password-1');
  const row = await m.services.db.kysely
    .selectFrom('accounts')
    .select('id')
    .where('address', '=', 'snap@example.test')
    .executeTakeFirstOrThrow();
  accountId = row.id;
});
after(() => m?.close());

const raw = (i: number) => Buffer.from(`Subject: m${i}\r\nMessage-ID: <s${i}@x>\r\n\r\nbody ${i}\r\n`);
const plain = (p: ReturnType<typeof packEntries>) => ({
  uids: Array.from(p.uids),
  messageIds: Array.from(p.messageIds),
  modseqs: Array.from(p.modseqs),
  keywords: p.keywords.map((k) => [...k]),
});

test('a snapshot after changes equals a fresh read; a paged read equals the whole list', async () => {
  const mail = m.services.mail;
  const box = await mail.createMailbox(accountId, 'Snap');
  await mail.appendMany(
    accountId,
    box.id,
    Array.from({ length: 2100 }, (_, i) => ({ raw: raw(i) })),
  );
  const snapshots = new EntrySnapshots(mail);
  const read = async () => snapshots.entries((await mail.getMailboxById(accountId, box.id))!);
  const whole = async () => plain(packEntries(await mail.listEntries(box.id)));
  assert.deepEqual(plain(await read()), await whole(), 'first read, two pages');

  await mail.storeKeywords(accountId, box.id, [3, 2050], 'add', ['$seen', 'todo']);
  await mail.expunge(accountId, box.id, { uids: [1, 7, 2099] });
  await mail.append(accountId, box.id, raw(9000), { keywords: ['$flagged'] });
  await mail.storeKeywords(accountId, box.id, [3], 'remove', ['todo']);
  const after1 = await read();
  assert.deepEqual(plain(after1), await whole(), 'after flags, expunges and an append');
  assert.equal(after1.uids.length, 2098);

  await mail.expunge(accountId, box.id, { uids: [2101] });
  assert.deepEqual(plain(await read()), await whole(), 'after expunging the newest');
});
