// Shared set-up for auth unit tests: a real store (SQLite, or PostgreSQL when asked), a
// directory with one domain and accounts, and a config snapshot.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import type { Config } from '../../../src/config/config.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { createLogger, type Logger } from '../../../src/core/log.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

// Failure delays and bans are off unless a test sets auth.limits.exempt itself (limits.test.ts).
const DEFAULTS = { server: { hostname: 'mail.example.test' }, auth: { limits: { exempt: ['0.0.0.0/0', '::/0'] } } };

export interface AuthFixture {
  readonly dir: string;
  readonly db: Db;
  readonly directory: SqlDirectory;
  readonly accounts: AccountAdmin;
  readonly logger: Logger;
  /** Audit lines the logger wrote, parsed. */
  readonly logLines: Array<Record<string, unknown>>;
  config(overrides?: Record<string, unknown>): Config;
  close(): Promise<void>;
}

/** Opens a fresh store with domain example.test and users alice (password "correct horse") and bob. */
export async function authFixture(dialect: 'sqlite' | 'postgres' = 'sqlite'): Promise<AuthFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-auth-'));
  let url = '';
  let drop = async () => {};
  if (dialect === 'postgres') {
    const tmp = await tempPgDatabase();
    url = tmp.url;
    drop = tmp.drop;
  }
  const db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
  const directory = new SqlDirectory(db);
  const accounts = new AccountAdmin(db, directory);
  await accounts.addDomain('example.test');
  await accounts.addUser({ address: 'alice@example.test', password: 'correct horse' });
  await accounts.addUser({ address: 'bob@example.test', password: 'battery staple' });
  const logLines: Array<Record<string, unknown>> = [];
  const sink = {
    write(line: string) {
      logLines.push(JSON.parse(line));
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const logger = createLogger('info', sink);
  return {
    dir,
    db,
    directory,
    accounts,
    logger,
    logLines,
    config: (overrides = {}) => loadConfig({ dataDir: dir, env: {}, overrides: merge({}, DEFAULTS, overrides) }),
    async close() {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deep-merges plain objects into `into` (arrays and values from later objects win). */
export function merge(into: Record<string, unknown>, ...froms: Array<Record<string, unknown>>): Record<string, unknown> {
  for (const from of froms) {
    for (const [k, v] of Object.entries(from)) {
      const cur = into[k];
      if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur))
        into[k] = merge({ ...(cur as Record<string, unknown>) }, v as Record<string, unknown>);
      else if (v && typeof v === 'object' && !Array.isArray(v)) into[k] = merge({}, v as Record<string, unknown>);
      else into[k] = v;
    }
  }
  return into;
}
