import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { type BlobStore, FsBlobStore } from './blobs.ts';
import { DbBlobStore } from './db-blobs.ts';
import type { Db } from './db.ts';
import { ReadThroughBlobStore } from './read-through-blobs.ts';

/** Where message bodies and uploads live (`store.blobs`): files under DATA/blobs, or the database. */
export type BlobStoreKind = 'files' | 'database';

/** The store of one kind, with nothing read through. */
export function blobStoreOf(kind: BlobStoreKind, dataDir: string, db: Db): BlobStore {
  return kind === 'files' ? new FsBlobStore(path.join(dataDir, 'blobs')) : new DbBlobStore(db);
}

/** The other kind: where blobs were before a switch of `store.blobs`. */
export function otherBlobStoreKind(kind: BlobStoreKind): BlobStoreKind {
  return kind === 'files' ? 'database' : 'files';
}

async function holdsBlobs(kind: BlobStoreKind, dataDir: string, db: Db): Promise<boolean> {
  if (kind === 'database') {
    return (await db.kysely.selectFrom('blobs').select('id').limit(1).executeTakeFirst()) !== undefined;
  }
  const root = path.join(dataDir, 'blobs');
  try {
    await access(root);
  } catch {
    return false;
  }
  return (await readdir(root)).some((name) => /^[0-9a-f]{2}$/.test(name));
}

/**
 * The configured blob store. While the other kind still holds blobs (a switch of `store.blobs`
 * whose `admin blobs migrate --remove-source` has not run yet), reads fall back to it.
 */
export async function openBlobStore(kind: BlobStoreKind, dataDir: string, db: Db): Promise<BlobStore> {
  const primary = blobStoreOf(kind, dataDir, db);
  const previousKind = otherBlobStoreKind(kind);
  if (!(await holdsBlobs(previousKind, dataDir, db))) return primary;
  return new ReadThroughBlobStore(primary, blobStoreOf(previousKind, dataDir, db));
}
