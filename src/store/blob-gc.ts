import type { BlobStore } from './blobs.ts';
import type { Db } from './db.ts';

/** Every table column that points at a blob. A blob is deleted only when none of them does. */
export const BLOB_REFERENCES = [
  ['messages', 'blob_id'],
  ['queue_messages', 'blob_id'],
  ['jmap_uploads', 'blob_id'],
] as const;

/**
 * A blob written or re-written within this window is never deleted: a writer stores the blob
 * first and its row afterwards, so a fresh blob with no row yet is in use, not garbage.
 */
export const BLOB_GRACE_MS = 15 * 60_000;

/** True when any table still refers to the blob. */
export async function isBlobReferenced(db: Db, id: string): Promise<boolean> {
  for (const [table, column] of BLOB_REFERENCES) {
    const row = await db.kysely.selectFrom(table).select(column).where(column, '=', id).limit(1).executeTakeFirst();
    if (row) return true;
  }
  return false;
}

/**
 * Deletes a blob that nothing refers to and that was not written within the grace window.
 * Callers invoke it after removing their own reference; a blob kept by the grace window is
 * collected later by `sweepBlobs`.
 */
export async function releaseBlob(db: Db, blobs: BlobStore, id: string, now = Date.now()): Promise<boolean> {
  const written = await blobs.writtenAt(id);
  if (written === undefined || now - written < BLOB_GRACE_MS) return false;
  if (await isBlobReferenced(db, id)) return false;
  await blobs.delete(id);
  return true;
}

/** Deletes every unreferenced blob older than the grace window; returns how many went. */
export async function sweepBlobs(db: Db, blobs: BlobStore, now = Date.now()): Promise<number> {
  let removed = 0;
  for await (const id of blobs.ids()) {
    if (await releaseBlob(db, blobs, id, now)) removed++;
  }
  return removed;
}
