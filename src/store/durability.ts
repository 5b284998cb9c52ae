import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Transaction } from 'kysely';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';

const relaxed = new AsyncLocalStorage<true>();

/**
 * Runs `fn`, whose writes are acknowledged once committed, without waiting for the disk: for state
 * a power cut may roll back by a moment without losing mail (flag changes, expunges), as Dovecot's
 * `mail_fsync = optimized` does. A process crash loses nothing (the commit is in the WAL, which the
 * next synced write or checkpoint flushes too); new mail is always synced before it is acknowledged.
 */
export function withoutDiskWait<T>(fn: () => Promise<T>): Promise<T> {
  return relaxed.run(true, fn);
}

/** Whether the current write was started by `withoutDiskWait`. */
export function diskWaitRelaxed(): boolean {
  return relaxed.getStore() === true;
}

/**
 * Inside a transaction: on PostgreSQL, a relaxed write commits with `synchronous_commit = off`
 * (PostgreSQL docs §19.5.1: no corruption, only the last moment's commits at risk on a server crash).
 * SQLite's relaxed writes skip the WAL sync in src/store/sqlite-dialect.ts instead.
 */
export async function relaxCommit(db: Db, trx: Transaction<Database>): Promise<void> {
  if (db.dialect === 'postgres' && diskWaitRelaxed()) await sql`SET LOCAL synchronous_commit = off`.execute(trx);
}
