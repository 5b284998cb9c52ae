// The POP3 maildrop lock (RFC 1939 §8) on SQLite and PostgreSQL: one holder at a time across
// nodes sharing the store, a lease that a live session refreshes, and a lock that frees itself
// once the lease of a dead node's session runs out.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { MaildropLocks } from '../../../src/mail/maildrop-lock.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`POP3 maildrop lock (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let alice: number;
    let bob: number;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-pop3-lock-'));
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      alice = (await admin.addUser({ address: 'alice@example.test', password: 'a long password' })).account.id;
      bob = (await admin.addUser({ address: 'bob@example.test', password: 'a long password' })).account.id;
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('one holder per maildrop, across two nodes on one store; release frees it', async () => {
      const node1 = new MaildropLocks(db, 1000);
      const node2 = new MaildropLocks(db, 1000);
      const t0 = 10_000;
      assert.equal(await node1.acquire(alice, 's1', t0), true);
      assert.equal(await node2.acquire(alice, 's2', t0 + 10), false, 'IN-USE for a second session on another node');
      assert.equal(await node2.acquire(bob, 's2', t0 + 10), true, 'other maildrops are not affected');
      await node1.release(alice, 's2');
      assert.equal(await node2.acquire(alice, 's3', t0 + 20), false, 'only the holder can release');
      await node1.release(alice, 's1');
      assert.equal(await node2.acquire(alice, 's3', t0 + 30), true);
      await node2.release(alice, 's3');
      await node2.release(bob, 's2');
    });

    it('a refreshed lease holds; an abandoned one frees itself when it runs out', async () => {
      const locks = new MaildropLocks(db, 1000);
      const t0 = 100_000;
      assert.equal(await locks.acquire(alice, 'live', t0), true);
      await locks.refresh(alice, 'live', t0 + 900);
      assert.equal(await locks.acquire(alice, 'other', t0 + 1500), false, 'refreshed at +900: held until +1900');
      // The node died: nobody refreshes any more.
      assert.equal(await locks.acquire(alice, 'other', t0 + 1901), true, 'expired leases are taken over');
      await locks.release(alice, 'other');
    });
  });
}
