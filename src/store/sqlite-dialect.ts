import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

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
 */
class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  readonly #cache = new Map<string, { stmt: StatementSync; reader: boolean }>();

  constructor(options: SqliteOptions) {
    this.raw = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs });
    this.raw.exec('PRAGMA journal_mode = WAL');
    this.raw.exec('PRAGMA synchronous = FULL');
    this.raw.exec('PRAGMA foreign_keys = ON');
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
      entry = { stmt, reader: stmt.columns().length > 0 };
      if (this.#cache.size > 500) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(text, entry);
    }
    const { stmt, reader } = entry;
    return {
      reader,
      all: (params) => stmt.all(...params.map(toSqlite)),
      run: (params) => stmt.run(...params.map(toSqlite)),
      iterate: (params) => stmt.iterate(...params.map(toSqlite)) as IterableIterator<unknown>,
    };
  }
}

/** A Kysely dialect over the built-in `node:sqlite` (WAL, foreign keys, busy timeout). */
export function nodeSqliteDialect(options: SqliteOptions): SqliteDialect {
  return new SqliteDialect({ database: async () => new NodeSqliteDatabase(options) });
}
