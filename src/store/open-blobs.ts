import path from 'node:path';
import { type BlobStore, FsBlobStore } from './blobs.ts';
import { S3BlobStore } from './blobs-s3.ts';
import { DbBlobStore } from './db-blobs.ts';
import type { Db } from './db.ts';
import { ReadThroughBlobStore } from './read-through-blobs.ts';

/** Where message bodies and uploads live (`store.blobs`): files under DATA/blobs, the database, or an S3 bucket. */
export type BlobStoreKind = 'files' | 'database' | 's3';

export const BLOB_STORE_KINDS: readonly BlobStoreKind[] = ['files', 'database', 's3'];

/** What a blob store is opened from: the data directory and the `store` section. */
export interface BlobStoreSetting {
  readonly dataDir: string;
  readonly store: {
    readonly blobs: BlobStoreKind;
    /** `store.s3` of the configuration (docs/configuration.md). */
    readonly s3: {
      readonly endpoint: string;
      readonly region: string;
      readonly bucket: string;
      readonly prefix: string;
      readonly access_key_id: string;
      readonly secret_access_key: string;
      readonly path_style: boolean;
    };
  };
}

/** The store of one kind, with nothing read through (an S3 store's bucket is created if missing). */
export async function blobStoreOf(kind: BlobStoreKind, where: BlobStoreSetting, db: Db): Promise<BlobStore> {
  if (kind === 'files') return new FsBlobStore(path.join(where.dataDir, 'blobs'));
  if (kind === 'database') return new DbBlobStore(db);
  const store = s3Store(where);
  await store.ensureBucket();
  return store;
}

function s3Store(where: BlobStoreSetting): S3BlobStore {
  const s3 = where.store.s3;
  return new S3BlobStore({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    prefix: s3.prefix,
    accessKeyId: s3.access_key_id,
    secretAccessKey: s3.secret_access_key,
    pathStyle: s3.path_style,
  });
}

/** True when a store of this kind holds any blob (an S3 store only when `store.s3.bucket` is set). */
export async function holdsBlobs(kind: BlobStoreKind, where: BlobStoreSetting, db: Db): Promise<boolean> {
  if (kind === 'database') {
    return (await db.kysely.selectFrom('blobs').select('id').limit(1).executeTakeFirst()) !== undefined;
  }
  if (kind === 's3') {
    if (!where.store.s3.bucket) return false;
    return s3Store(where).holdsAny();
  }
  // A blob file, not just a directory: `migrate --remove-source` leaves the emptied directories.
  for await (const _ of new FsBlobStore(path.join(where.dataDir, 'blobs')).ids()) return true;
  return false;
}

/** The kinds other than `kind` that still hold blobs: where they were before a switch of `store.blobs`. */
export async function previousBlobStores(kind: BlobStoreKind, where: BlobStoreSetting, db: Db): Promise<BlobStoreKind[]> {
  const out: BlobStoreKind[] = [];
  for (const other of BLOB_STORE_KINDS) if (other !== kind && (await holdsBlobs(other, where, db))) out.push(other);
  return out;
}

/**
 * The configured blob store. While another kind still holds blobs (a switch of `store.blobs`
 * whose `admin blobs migrate --remove-source` has not run yet), reads fall back to it.
 */
export async function openBlobStore(where: BlobStoreSetting, db: Db): Promise<BlobStore> {
  const kind = where.store.blobs;
  let store = await blobStoreOf(kind, where, db);
  for (const previous of await previousBlobStores(kind, where, db))
    store = new ReadThroughBlobStore(store, await blobStoreOf(previous, where, db));
  return store;
}
