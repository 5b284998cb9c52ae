import { randomBytes } from 'node:crypto';
import pg from 'pg';
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
