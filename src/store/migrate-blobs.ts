import { FingerpostError } from '../core/errors.ts';
import type { BlobStore } from './blobs.ts';

/** Progress of `migrateBlobs`: blobs looked at so far, of how many, and how many were copied. */
export interface BlobMigrationProgress {
  readonly seen: number;
  readonly total: number;
  readonly copied: number;
  readonly removed: number;
}

/**
 * Copies every blob of `from` that `to` lacks (same bytes, same id, checked), while the server
 * runs: blobs are content-addressed, so a copy is idempotent and a stopped run resumes where it
 * was. With `removeSource`, each blob leaves `from` once `to` holds it.
 */
export async function migrateBlobs(
  from: BlobStore,
  to: BlobStore,
  options: { removeSource?: boolean; onProgress?: (p: BlobMigrationProgress) => void } = {},
): Promise<BlobMigrationProgress> {
  const ids = await Array.fromAsync(from.ids());
  let copied = 0;
  let removed = 0;
  let seen = 0;
  for (const id of ids) {
    seen++;
    if (!(await to.has(id))) {
      let data: Buffer;
      try {
        data = await from.get(id);
      } catch (err) {
        // Collected by the blob sweep since the listing: nothing to move.
        if (err instanceof FingerpostError && err.code === 'not_found') continue;
        throw err;
      }
      const stored = await to.put(data);
      if (stored !== id) throw new FingerpostError('internal', `blob ${id} does not hash to its id (got ${stored}); left in place`);
      copied++;
    }
    if (options.removeSource) {
      await from.delete(id);
      removed++;
    }
    options.onProgress?.({ seen, total: ids.length, copied, removed });
  }
  return { seen, total: ids.length, copied, removed };
}
