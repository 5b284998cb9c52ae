import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { FingerpostError } from '../core/errors.ts';
import { type Dialect, migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { nodeSqliteDialect } from './sqlite-dialect.ts';

/** An open database with its dialect; every store module takes this. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /**
   * PostgreSQL only: calls `onNotify` for every NOTIFY on `channel`, on a connection of its own
   * that is opened again after it drops (`onError` hears why). Returns a stop function.
   */
  readonly listen?: (channel: string, onNotify: () => void, onError: (err: Error) => void) => () => void;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Empty for SQLite at `sqlitePath`, else a postgres:// URL. */
  readonly url: string;
  readonly sqlitePath: string;
  readonly poolSize?: number;
  readonly busyTimeoutMs?: number;
}

// pg returns int8 as strings; every bigint here (ids, epoch ms, modseq) fits in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Opens SQLite (WAL, foreign keys, busy timeout) or PostgreSQL and runs pending migrations. */
export async function openDb(options: OpenOptions): Promise<Db> {
  const dialect: Dialect = options.url ? 'postgres' : 'sqlite';
  let kysely: Kysely<Database>;
  if (dialect === 'sqlite') {
    mkdirSync(path.dirname(options.sqlitePath), { recursive: true });
    kysely = new Kysely<Database>({
      dialect: nodeSqliteDialect({ path: options.sqlitePath, busyTimeoutMs: options.busyTimeoutMs ?? 5000 }),
    });
  } else {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle connection the server ends (restart, failover, pg_terminate_backend) is an 'error'
    // event on the pool; unheard, it ends the process. The pool has already dropped that client and
    // the next query opens a new connection, so there is nothing more to do.
    pool.on('error', () => {});
    // A client the server ends while it is checked out (a transaction between two statements) emits
    // 'error' with no pool listener attached, which also ends the process. Its queries fail with the
    // error instead, and the pool discards it on release (it is no longer queryable).
    pool.on('connect', (client) => client.on('error', () => {}));
    kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  try {
    await migrate(kysely, dialect);
  } catch (err) {
    await kysely.destroy().catch(() => {});
    const where = dialect === 'sqlite' ? options.sqlitePath : redactUrl(options.url);
    throw new FingerpostError('store_failure', `cannot open the database at ${where}: ${(err as Error).message}`, {
      hint: dialect === 'sqlite' ? 'check that the data directory is writable' : 'check store.url and that PostgreSQL is running',
      cause: err,
    });
  }
  if (dialect === 'sqlite') return { kysely, dialect, close: () => kysely.destroy() };
  const stops = new Set<() => void>();
  return {
    kysely,
    dialect,
    listen(channel, onNotify, onError) {
      const stop = listenOn(options.url, channel, onNotify, onError);
      stops.add(stop);
      return () => {
        stops.delete(stop);
        stop();
      };
    },
    close: async () => {
      for (const stop of stops) stop();
      await kysely.destroy();
    },
  };
}

const RELISTEN_MS = 1000;

/** LISTEN on a dedicated connection, reconnecting after a drop until stopped (PostgreSQL §NOTIFY). */
function listenOn(url: string, channel: string, onNotify: () => void, onError: (err: Error) => void): () => void {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = () => {
    const c = new pg.Client({ connectionString: url });
    client = c;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      c.end().catch(() => {});
      if (stopped) return;
      onError(err);
      // Events sent while no connection listened are found by the next poll.
      retry = setTimeout(connect, RELISTEN_MS);
    };
    c.on('notification', () => onNotify());
    c.on('error', fail);
    c.on('end', () => fail(new Error('the LISTEN connection closed')));
    c.connect()
      .then(() => c.query(`LISTEN ${pg.escapeIdentifier(channel)}`))
      .catch(fail);
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    client?.end().catch(() => {});
  };
}

async function migrate(kysely: Kysely<Database>, dialect: Dialect): Promise<void> {
  // Areas add migrations in their own number ranges, so a newer file may sort before an applied one.
  const migrator = new Migrator({ db: kysely, provider: migrationProvider(dialect), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    // No failed migration: the database could not be reached or locked before any migration ran.
    const message = (error as Error).message ?? String(error);
    throw new Error(failed ? `migration ${failed.migrationName} failed: ${message}` : message);
  }
}

/** Hides the password in a postgres:// URL for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Runs `fn` in a transaction (BEGIN IMMEDIATE on SQLite). */
export function transaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.kysely.transaction().execute(fn);
}

/** A cheap liveness query for /healthz. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db.kysely);
}
