import { DatabaseSync } from 'node:sqlite';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { FingerpostError } from '../core/errors.ts';
import { BLOB_REFERENCES } from '../store/blob-gc.ts';
import {
  type BackupManifest,
  type BackupProgress,
  copyTree,
  exists,
  fileSha256,
  filesUnder,
  isEmptyDir,
  MANIFEST,
  PG_SNAPSHOT,
  runPgTool,
  SQLITE_SNAPSHOT,
} from './backup-files.ts';

/** Files of the data directory a backup keeps besides the database and blobs: TLS keys and the config. */
const KEPT = ['tls', 'fingerpost.toml'] as const;

/** A consistent copy of a live SQLite database (one read transaction; WAL lets the server write on). */
function snapshotSqlite(source: string, target: string, busyTimeoutMs: number): void {
  const db = new DatabaseSync(source, { readOnly: true, timeout: busyTimeoutMs });
  try {
    db.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
  } finally {
    db.close();
  }
}

/** Blob ids the SQLite snapshot refers to that neither its `blobs` table nor the copied files hold. */
function missingBlobs(snapshot: string, copied: ReadonlySet<string>): string[] {
  const db = new DatabaseSync(snapshot, { readOnly: true });
  try {
    const missing: string[] = [];
    const inDb = db.prepare('select 1 from blobs where id = ?');
    for (const [table, column] of BLOB_REFERENCES) {
      for (const row of db.prepare(`select distinct ${column} as id from ${table}`).iterate()) {
        const id = String((row as { id: unknown }).id);
        if (!copied.has(id) && !inDb.get(id)) missing.push(id);
      }
    }
    return missing;
  } finally {
    db.close();
  }
}

/**
 * `fingerpost backup`: writes a consistent snapshot of a running (or stopped) server into an empty
 * directory — the database (SQLite `VACUUM INTO`, PostgreSQL `pg_dump`), every blob, the TLS keys
 * and the config — and ends with `manifest.json`. The database is copied first: blobs are
 * immutable and written before the rows that point at them, so the later blob copy holds every
 * blob the snapshot refers to (checked on SQLite).
 */
export async function writeBackup(
  config: Config,
  target: string,
  onProgress: (p: BackupProgress) => void = () => {},
): Promise<BackupManifest> {
  if (config.store.blobs === 's3')
    throw new FingerpostError('invalid_argument', 'store.blobs = "s3": the bucket is not part of a backup', {
      hint: "keep the bucket with the S3 server's own versioning or replication, or move the blobs first: fingerpost admin blobs migrate --to database",
    });
  if (!(await isEmptyDir(target)))
    throw new FingerpostError('conflict', `${target} is not empty`, { hint: 'back up into a new or empty directory' });
  await mkdir(target, { recursive: true, mode: 0o700 });
  const engine = config.store.url ? 'postgres' : 'sqlite';

  onProgress({ phase: 'database', done: 0, total: 1 });
  const snapshot = path.join(target, engine === 'sqlite' ? SQLITE_SNAPSHOT : PG_SNAPSHOT);
  if (engine === 'sqlite') snapshotSqlite(config.sqlitePath, snapshot, config.store.busy_timeout);
  else await runPgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${snapshot}`], config.store.url);
  onProgress({ phase: 'database', done: 1, total: 1 });

  // The files store is copied whenever it holds blobs, also after a switch to the database.
  const blobRoot = path.join(config.dataDir, 'blobs');
  const blobFiles = await filesUnder(blobRoot);
  await copyTree(blobRoot, path.join(target, 'blobs'), blobFiles, (done) => onProgress({ phase: 'blobs', done, total: blobFiles.length }));

  const others: string[] = [];
  for (const name of KEPT) {
    const full = path.join(config.dataDir, name);
    if (name.endsWith('.toml')) {
      if (await exists(full)) others.push(name);
    } else {
      others.push(...(await filesUnder(full)).map((rel) => path.join(name, rel)));
    }
  }
  await copyTree(config.dataDir, path.join(target, 'data'), others, (done) => onProgress({ phase: 'files', done, total: others.length }));
  let configFile: string | undefined;
  if (config.file && path.dirname(path.resolve(config.file)) !== path.resolve(config.dataDir)) {
    configFile = path.resolve(config.file);
    await mkdir(path.join(target, 'config'), { mode: 0o700 });
    await copyFile(configFile, path.join(target, 'config', path.basename(configFile)));
  }

  if (engine === 'sqlite') {
    onProgress({ phase: 'verify', done: 0, total: 1 });
    const missing = missingBlobs(snapshot, new Set(blobFiles.map((rel) => path.basename(rel))));
    if (missing.length)
      throw new FingerpostError('conflict', `${missing.length} blob(s) the snapshot refers to were removed while it was taken`, {
        hint: 'run the backup again into a new directory',
      });
    onProgress({ phase: 'verify', done: 1, total: 1 });
  }

  const manifest: BackupManifest = {
    format: 'fingerpost-backup',
    version: 1,
    createdAt: new Date().toISOString(),
    engine,
    blobs: config.store.blobs,
    databaseSha256: await fileSha256(snapshot),
    counts: { blobFiles: blobFiles.length, otherFiles: others.length + (configFile ? 1 : 0) },
    ...(configFile ? { configFile } : {}),
  };
  await writeFile(path.join(target, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}
