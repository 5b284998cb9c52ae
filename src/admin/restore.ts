import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import { FingerpostError } from '../core/errors.ts';
import {
  type BackupManifest,
  type BackupProgress,
  copyTree,
  exists,
  fileSha256,
  filesUnder,
  MANIFEST,
  PG_SNAPSHOT,
  runPgTool,
  SQLITE_SNAPSHOT,
} from './backup-files.ts';

async function readManifest(source: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(path.join(source, MANIFEST), 'utf8');
  } catch {
    throw new FingerpostError('invalid_argument', `${source} holds no ${MANIFEST}: not a finished Fingerpost backup`, {
      hint: 'pass the directory `fingerpost backup` wrote; a backup that stopped half-way has no manifest',
    });
  }
  const manifest = JSON.parse(text) as BackupManifest;
  if (manifest.format !== 'fingerpost-backup' || manifest.version !== 1)
    throw new FingerpostError('invalid_argument', `${source}/${MANIFEST} is not a version 1 Fingerpost backup manifest`);
  return manifest;
}

/** True when the PostgreSQL database holds no table yet (a restore never overwrites a store in use). */
async function pgIsEmpty(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      "select count(*)::text as n from information_schema.tables where table_schema = 'public'",
    );
    return rows[0]!.n === '0';
  } finally {
    await client.end();
  }
}

/**
 * `fingerpost restore`: fills an empty data directory (and, on PostgreSQL, an empty database named by
 * `store.url`) from a backup, after checking the snapshot against the manifest. The next start runs
 * any newer migrations; UIDVALIDITY, UIDs, flags, keys and accounts are as they were.
 */
export async function restoreBackup(
  config: Config,
  source: string,
  onProgress: (p: BackupProgress) => void = () => {},
): Promise<BackupManifest> {
  const manifest = await readManifest(source);
  const engine = config.store.url ? 'postgres' : 'sqlite';
  if (manifest.engine !== engine)
    throw new FingerpostError('invalid_argument', `the backup is of a ${manifest.engine} store, the configuration names ${engine}`, {
      hint:
        manifest.engine === 'postgres' ? 'set store.url to an empty PostgreSQL database' : 'leave store.url empty to restore onto SQLite',
    });
  for (const name of ['fingerpost.db', 'blobs', 'tls'])
    if (await exists(path.join(config.dataDir, name)))
      throw new FingerpostError('conflict', `${path.join(config.dataDir, name)} exists: restore only into an empty data directory`, {
        hint: 'pass a new --data directory (move the old one away first if you mean to replace it)',
      });
  const snapshot = path.join(source, engine === 'sqlite' ? SQLITE_SNAPSHOT : PG_SNAPSHOT);
  onProgress({ phase: 'verify', done: 0, total: 1 });
  if ((await fileSha256(snapshot)) !== manifest.databaseSha256)
    throw new FingerpostError('invalid_argument', `${snapshot} does not match the manifest: the backup is damaged`);
  onProgress({ phase: 'verify', done: 1, total: 1 });

  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  onProgress({ phase: 'database', done: 0, total: 1 });
  if (engine === 'sqlite') {
    await copyFile(snapshot, config.sqlitePath);
  } else {
    if (!(await pgIsEmpty(config.store.url)))
      throw new FingerpostError('conflict', 'the PostgreSQL database of store.url already holds tables', {
        hint: 'create an empty database (createdb) and point store.url at it',
      });
    // The database name only: host, user and password reach pg_restore through its environment.
    const dbName = decodeURIComponent(new URL(config.store.url).pathname.slice(1));
    await runPgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${dbName}`, snapshot], config.store.url);
  }
  onProgress({ phase: 'database', done: 1, total: 1 });

  const blobFiles = await filesUnder(path.join(source, 'blobs'));
  await copyTree(path.join(source, 'blobs'), path.join(config.dataDir, 'blobs'), blobFiles, (done) =>
    onProgress({ phase: 'blobs', done, total: blobFiles.length }),
  );
  const others = await filesUnder(path.join(source, 'data'));
  await copyTree(path.join(source, 'data'), config.dataDir, others, (done) => onProgress({ phase: 'files', done, total: others.length }));
  return manifest;
}
