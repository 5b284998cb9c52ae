// The per-account storage quota (RFC 9208 §5.1 STORAGE, RFC 9425 octets) on SQLite and PostgreSQL:
// the use follows every append, copy, move, expunge, mailbox deletion and destroy exactly (checked
// against the sum of the stored message sizes after each step), a write that would pass the limit is
// refused whole, and limit changes are logged as Quota changes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MailStore } from '../../../src/mail/store.ts';
import type { MailChange } from '../../../src/mail/types.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const mail = (n: number, body: string) => Buffer.from(`Subject: m${n}\r\nMessage-ID: <q${n}@example.test>\r\n\r\n${body}\r\n`);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`storage quota (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let store: MailStore;
    let account: number;
    let inbox: number;
    const changes: MailChange[] = [];

    /** The use the quota row claims must equal what the messages take. */
    async function assertExact(): Promise<number> {
      const row = await db.kysely
        .selectFrom('messages')
        .select((eb) => eb.fn.sum<number>('size').as('n'))
        .where('account_id', '=', account)
        .executeTakeFirst();
      const { used } = await store.storageQuota(account);
      assert.equal(used, Number(row?.n ?? 0));
      return used;
    }

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-quota-'));
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      account = (await admin.addUser({ address: 'quinn@example.test', password: 'a long password' })).account.id;
      store = new MailStore(db, new FsBlobStore(path.join(dir, 'blobs')), mimeParser);
      inbox = (await store.getMailbox(account, 'inbox'))!.id;
      store.watch(account, (c) => changes.push(c));
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('tracks use exactly and refuses what would pass the limit', async () => {
      assert.deepEqual(await store.storageQuota(account), { limit: null, used: 0 });
      const one = mail(1, 'x'.repeat(300));
      await store.append(account, inbox, one);
      assert.equal(await assertExact(), one.length);
      assert.equal(await store.typeState(account, 'Quota'), 0, 'no Quota object while no limit is set');

      const created = await store.setStorageLimit(account, 1000);
      assert.deepEqual(created?.types, ['Quota']);
      assert.equal(await store.typeState(account, 'Quota'), created?.modseq);
      assert.deepEqual((await store.changesSince(account, 'Quota', 0)).created, [1]);
      assert.deepEqual(await store.storageQuota(account), { limit: 1000, used: one.length });

      // A copy is a second message and counts; a move is the same message and does not.
      const archive = (await store.createMailbox(account, 'Kept')).id;
      const before = changes.length;
      await store.copy(account, inbox, [1], archive);
      assert.equal(await assertExact(), 2 * one.length);
      assert.ok(
        changes.slice(before).some((c) => c.types.includes('Quota')),
        'the copy announces a Quota change',
      );
      await store.move(account, archive, [1], inbox);
      assert.equal(await assertExact(), 2 * one.length);

      // 2 × ~350 octets used: another 350 would pass 1000. Nothing of the refused write stays.
      const count = (await store.listEntries(inbox)).length;
      const modseq = await store.accountModseq(account);
      await assert.rejects(
        () => store.append(account, inbox, mail(2, 'y'.repeat(300))),
        (err) => isFingerpostError(err, 'over_quota'),
      );
      await assert.rejects(
        () => store.copy(account, inbox, [1], archive),
        (err) => isFingerpostError(err, 'over_quota'),
      );
      assert.equal((await store.listEntries(inbox)).length, count);
      assert.equal(await store.accountModseq(account), modseq, 'the refused writes changed nothing');
      assert.equal(await assertExact(), 2 * one.length);

      // Expunge, destroy and mailbox deletion give the space back.
      const [first] = await store.listEntries(inbox);
      await store.expunge(account, inbox, { uids: [first!.uid] });
      assert.equal(await assertExact(), one.length);
      const again = await store.append(account, inbox, mail(3, 'z'.repeat(100)));
      await assertExact();
      await store.destroyMessages(account, [again.messageId]);
      assert.equal(await assertExact(), one.length);
      await store.createMailbox(account, 'Old');
      const old = (await store.getMailbox(account, 'Old'))!.id;
      await store.copy(
        account,
        inbox,
        (await store.listEntries(inbox)).map((e) => e.uid),
        old,
      );
      assert.equal(await assertExact(), 2 * one.length);
      await store.deleteMailbox(account, 'Old');
      assert.equal(await assertExact(), one.length);

      // Lowering the limit below the use refuses growth but not shrinking; removing it destroys the object.
      await store.setStorageLimit(account, 10);
      await assert.rejects(
        () => store.append(account, inbox, mail(4, 'w')),
        (err) => isFingerpostError(err, 'over_quota'),
      );
      const removed = await store.setStorageLimit(account, null);
      assert.deepEqual((await store.changesSince(account, 'Quota', removed!.modseq - 1)).destroyed, [1]);
      await store.append(account, inbox, mail(5, 'w'));
      await assertExact();
    });
  });
}
