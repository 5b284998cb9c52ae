// Writes that need not wait for the disk (src/store/durability.ts) on PostgreSQL: their transaction
// commits with synchronous_commit off; every other transaction keeps the server's setting.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { type Db, openDb } from '../../../src/store/db.ts';
import { relaxCommit, withoutDiskWait } from '../../../src/store/durability.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

describe('withoutDiskWait on PostgreSQL', { skip: pgSkip }, () => {
  let db: Db;
  let dir: string;
  let drop = async () => {};

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-durability-'));
    const made = await tempPgDatabase();
    drop = made.drop;
    db = await openDb({ url: made.url, sqlitePath: path.join(dir, 'fp.db') });
  });
  after(async () => {
    await db.close();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  const setting = () =>
    db.kysely.transaction().execute(async (trx) => {
      await relaxCommit(db, trx);
      return (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(trx)).rows[0]!.synchronous_commit;
    });

  it('turns synchronous_commit off for that transaction only', async () => {
    assert.equal(await setting(), 'on');
    assert.equal(await withoutDiskWait(setting), 'off');
    assert.equal(await setting(), 'on', 'SET LOCAL ended with the transaction');
  });
});
