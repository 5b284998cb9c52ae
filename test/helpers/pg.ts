import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Db, openDb } from '../../src/store/db.ts';
import type { Dialect } from '../../src/store/migrations/index.ts';
import { PG_URL } from './peers.ts';

/** Creates a throw-away PostgreSQL database; returns its URL and a function that drops it. */
export async function tempPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `fp_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * A fresh store on `dialect` with its migrations run: SQLite in a temporary directory named from
 * `prefix`, or a throw-away PostgreSQL database; `dispose` closes it and removes it.
 */
export async function openTestDb(dialect: Dialect, prefix: string): Promise<{ db: Db; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const pgDb = dialect === 'postgres' ? await tempPgDatabase() : undefined;
  const db = await openDb({ url: pgDb?.url ?? '', sqlitePath: path.join(dir, 'fp.db') });
  return {
    db,
    dispose: async () => {
      await db.close();
      await pgDb?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
