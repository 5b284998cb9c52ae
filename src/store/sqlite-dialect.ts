import { open } from 'node:fs/promises';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type DatabaseConnection, type Driver, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

export interface SqliteOptions {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

function toSqlite(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value as SQLInputValue;
}

/**
 * Adapts `node:sqlite` to Kysely's SQLite driver: prepared statements are cached, booleans become
 * 0/1, and transactions start with BEGIN IMMEDIATE so a second process (the admin CLI) waits on the
 * busy timeout instead of failing a deferred lock upgrade.
 *
 * Durability with group commit: `node:sqlite` runs on the event loop, so with `synchronous = FULL`
 * every commit's fsync of the write-ahead log stopped every session for its length, one writer
 * after another. Here the connection runs `synchronous = NORMAL` (commits write the WAL, no fsync;
 * checkpoints still sync the WAL before and the database after) and each statement that wrote
 * leaves the connection only after an fdatasync of the WAL file on the thread pool; commits that
 * finish while one sync runs share the next. A write is acknowledged only once it is on disk, as
 * with FULL, but the loop keeps serving other sessions and other transactions meanwhile.
 */
class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  readonly #cache = new Map<string, { stmt: StatementSync; reader: boolean; writes: boolean }>();
  readonly #wal: string | null;
  /** Statements that may have written, and how many of them the last finished sync covered. */
  #written = 0;
  #synced = 0;
  #syncing: Promise<void> | null = null;

  constructor(options: SqliteOptions) {
    this.raw = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs });
    this.raw.exec('PRAGMA journal_mode = WAL');
    this.raw.exec('PRAGMA synchronous = NORMAL');
    this.raw.exec('PRAGMA foreign_keys = ON');
    this.#wal = options.path === ':memory:' || options.path === '' ? null : `${options.path}-wal`;
  }

  /** Statements so far that may have written (a mark to compare with after a use of the connection). */
  get written(): number {
    return this.#written;
  }

  /** Resolves once everything written so far is on disk: joins the sync in flight or starts the next one. */
  async durable(): Promise<void> {
    const target = this.#written;
    while (this.#synced < target && this.#wal) {
      if (!this.#syncing) this.#syncing = this.#sync(this.#wal);
      await this.#syncing;
    }
  }

  async #sync(wal: string): Promise<void> {
    const upTo = this.#written;
    try {
      // A fresh descriptor each time: fdatasync flushes the file's data whichever descriptor wrote it.
      const fh = await open(wal, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (fh) {
        try {
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
      this.#synced = upTo;
    } finally {
      this.#syncing = null;
    }
  }

  close(): void {
    this.#cache.clear();
    this.raw.close();
  }

  prepare(sql: string): SqliteStatement {
    const text = sql === 'begin' ? 'begin immediate' : sql;
    let entry = this.#cache.get(text);
    if (!entry) {
      const stmt = this.raw.prepare(text);
      entry = { stmt, reader: stmt.columns().length > 0, writes: !/^\s*select\b/i.test(text) };
      if (this.#cache.size > 500) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(text, entry);
    }
    const { stmt, reader, writes } = entry;
    // What needs a sync: a COMMIT, or a statement outside a transaction that changed rows.
    const wrote = (changes: number) => {
      if (writes && !this.raw.isTransaction && (changes > 0 || text === 'commit')) this.#written++;
    };
    return {
      reader,
      all: (params) => {
        const rows = stmt.all(...params.map(toSqlite));
        wrote(rows.length || 1);
        return rows;
      },
      run: (params) => {
        const result = stmt.run(...params.map(toSqlite));
        wrote(Number(result.changes));
        return result;
      },
      iterate: (params) => stmt.iterate(...params.map(toSqlite)) as IterableIterator<unknown>,
    };
  }
}

/**
 * A Kysely dialect over the built-in `node:sqlite` (WAL, foreign keys, busy timeout). Releasing
 * the connection after a write waits until the write is durable, with the connection already
 * free for the next query (group commit, see `NodeSqliteDatabase`).
 */
export function nodeSqliteDialect(options: SqliteOptions): SqliteDialect {
  let db: NodeSqliteDatabase | undefined;
  return new (class extends SqliteDialect {
    override createDriver(): Driver {
      const driver = super.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      const release = driver.releaseConnection.bind(driver);
      // One connection behind a mutex: what it wrote between acquire and release is this use's.
      let mark = 0;
      driver.acquireConnection = async () => {
        const connection = await acquire();
        mark = db?.written ?? 0;
        return connection;
      };
      driver.releaseConnection = async (connection: DatabaseConnection) => {
        const wrote = (db?.written ?? 0) > mark;
        await release(connection);
        if (wrote) await db?.durable();
      };
      return driver;
    }
  })({
    database: async () => {
      db = new NodeSqliteDatabase(options);
      return db;
    },
  });
}
