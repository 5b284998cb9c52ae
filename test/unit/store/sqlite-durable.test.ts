// The SQLite dialect's group commit (src/store/sqlite-dialect.ts): the connection runs WAL with
// synchronous = NORMAL and makes each write durable with an fdatasync of the WAL before the query
// resolves; concurrent transactions all complete, share syncs, and their rows survive a reopen.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Generated, Kysely, sql } from 'kysely';
import { nodeSqliteDialect } from '../../../src/store/sqlite-dialect.ts';

interface T {
  items: { id: Generated<number>; v: string };
}

describe('SQLite group commit', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-sqlite-'));
    file = path.join(dir, 'db.sqlite');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('runs WAL with synchronous NORMAL, and concurrent transactions and single writes all land', async () => {
    const db = new Kysely<T>({ dialect: nodeSqliteDialect({ path: file, busyTimeoutMs: 1000 }) });
    await sql`create table items (id integer primary key, v text not null)`.execute(db);
    assert.equal((await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db)).rows[0]!.journal_mode, 'wal');
    assert.equal((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]!.synchronous, 1);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? db.transaction().execute(async (trx) => {
              await trx
                .insertInto('items')
                .values({ v: `t${i}` })
                .execute();
              await trx
                .insertInto('items')
                .values({ v: `u${i}` })
                .execute();
            })
          : db
              .insertInto('items')
              .values({ v: `s${i}` })
              .execute(),
      ),
    );
    // A transaction that fails leaves nothing and does not block the next one.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ v: 'gone' }).execute();
        throw new Error('no');
      }),
    );
    assert.equal(
      (
        await db
          .selectFrom('items')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
      60,
    );
    assert.ok((await stat(`${file}-wal`)).size > 0);
    await db.destroy();
    const again = new Kysely<T>({ dialect: nodeSqliteDialect({ path: file, busyTimeoutMs: 1000 }) });
    const rows = await again.selectFrom('items').select('v').execute();
    assert.equal(rows.length, 60);
    assert.ok(!rows.some((r) => r.v === 'gone'));
    await again.destroy();
  });
});
