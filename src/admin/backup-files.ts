import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { constants, createReadStream } from 'node:fs';
import { access, copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FingerpostError } from '../core/errors.ts';

/** What a backup directory holds, written last as `manifest.json` (a backup without it is unfinished). */
export interface BackupManifest {
  readonly format: 'fingerpost-backup';
  readonly version: 1;
  readonly createdAt: string;
  /** The database engine the snapshot is for: `database.sqlite` or `database.pgdump`. */
  readonly engine: 'sqlite' | 'postgres';
  /** `store.blobs` when the backup was taken. */
  readonly blobs: 'files' | 'database';
  /** SHA-256 of the database snapshot file, checked before a restore uses it. */
  readonly databaseSha256: string;
  readonly counts: { readonly blobFiles: number; readonly otherFiles: number };
  /** Where the `--config` file was, when it lay outside the data directory (copied to `config/`). */
  readonly configFile?: string;
}

export const MANIFEST = 'manifest.json';
export const SQLITE_SNAPSHOT = 'database.sqlite';
export const PG_SNAPSHOT = 'database.pgdump';

/** Progress of a backup or restore: which phase, and how far into it. */
export interface BackupProgress {
  readonly phase: 'database' | 'blobs' | 'files' | 'verify';
  readonly done: number;
  readonly total: number;
}

/** SHA-256 hex of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under `root`, as paths relative to it (none when it does not exist). */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) await walk(child);
      else if (e.isFile() && !e.name.startsWith('.tmp-')) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

/** Copies `files` (relative paths) from one root to another, as reflinks where the filesystem can, reporting each. */
export async function copyTree(from: string, to: string, files: readonly string[], onEach: (done: number) => void): Promise<void> {
  let done = 0;
  for (const rel of files) {
    const target = path.join(to, rel);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await copyFile(path.join(from, rel), target, constants.COPYFILE_FICLONE);
    onEach(++done);
  }
}

/** True when the path exists. */
export async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** True when `dir` does not exist or is empty. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    if (!(await stat(dir)).isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Runs a PostgreSQL client tool (pg_dump, pg_restore) with the store URL as its connection, its
 * stderr kept for the error message; the URL is passed in the environment, never on a command line.
 */
export function runPgTool(tool: 'pg_dump' | 'pg_restore', args: readonly string[], url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const env = {
      ...process.env,
      PGHOST: u.hostname,
      PGPORT: u.port || '5432',
      PGUSER: decodeURIComponent(u.username),
      PGPASSWORD: decodeURIComponent(u.password),
      PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    };
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) =>
      reject(
        new FingerpostError('unavailable', `${tool} could not be started: ${err.message}`, {
          hint: 'install the PostgreSQL client tools of your server version (Debian: postgresql-client)',
        }),
      ),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new FingerpostError('unavailable', `${tool} failed (exit ${code}): ${stderr.trim().slice(0, 500)}`)),
    );
  });
}
