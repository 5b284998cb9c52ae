// A mailbox annotation write moves the mailbox's HIGHESTMODSEQ to the MODSEQ its change is logged
// at (RFC 7162 §3.2), also when another write of the account commits meanwhile (PostgreSQL).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MailStore } from '../../../src/mail/store.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

describe('METADATA and a concurrent write (postgres)', { skip: pgSkip }, () => {
  let db: Db;
  let dir: string;
  let url = '';
  let drop = async () => {};

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-meta-'));
    ({ url, drop } = await tempPgDatabase());
    db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
  });
  after(async () => {
    await db.close();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("puts the mailbox's HIGHESTMODSEQ at the MODSEQ the annotation change took", async () => {
    const admin = new AccountAdmin(db, new SqlDirectory(db));
    await admin.addDomain('example.test');
    const account = (await admin.addUser({ address: 'bob@example.test', password: 'a long password' })).account.id;
    const store = new MailStore(db, new FsBlobStore(path.join(dir, 'blobs')), mimeParser);
    const inbox = (await store.getMailbox(account, 'inbox'))!.id;
    // Another write of the account has bumped its MODSEQ and not committed yet.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('update accounts set modseq = modseq + 1 where id = $1', [account]);
      const { rows } = await other.query<{ pid: number }>('select pg_backend_pid() as pid');
      const write = store.metadata.set(account, inbox, [{ name: '/private/comment', value: Buffer.from('hello') }], {
        maxSize: 1024,
        maxEntries: 10,
      });
      // Until the annotation write waits for the account row the other write holds.
      for (;;) {
        const waiting = await other.query('select 1 from pg_locks where not granted and $1 = any(pg_blocking_pids(pid))', [rows[0]!.pid]);
        if (waiting.rowCount) break;
        await new Promise((r) => setImmediate(r));
      }
      await other.query('commit');
      assert.equal(await write, null);
    } finally {
      await other.end();
    }
    const logged = await db.kysely
      .selectFrom('changes')
      .select('modseq')
      .where('account_id', '=', account)
      .where('type', '=', 'Metadata')
      .executeTakeFirstOrThrow();
    const box = (await store.getMailbox(account, 'inbox'))!;
    assert.equal(Number(box.highestModseq), Number(logged.modseq));
  });
});
