import { releaseBlob } from '../../../store/blob-gc.ts';
import type { JmapServices } from '../context.ts';
import { toBlobId } from '../ids.ts';

/** A finished upload as RFC 8620 §6.1 answers it. */
export interface UploadResult {
  readonly blobId: string;
  readonly type: string;
  readonly size: number;
}

/** A media type is kept only when it is a plausible `type/subtype`; anything else is octet-stream. */
export function cleanMediaType(value: string | undefined): string {
  const type = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(type) ? type : 'application/octet-stream';
}

/** Deletes a blob file once nothing refers to it any more (store/blob-gc.ts decides). */
async function collect(services: JmapServices, sha: string): Promise<void> {
  await releaseBlob(services.db, services.blobs, sha);
}

/**
 * Drops expired uploads (older than `jmap.upload_ttl`, at least an hour per RFC 8620 §6.1) and,
 * while the account holds more than `jmap.upload_quota` bytes, its oldest uploads; `keepId` (the
 * upload just answered with its blobId) is never dropped, even when it alone exceeds the quota.
 */
export async function pruneUploads(services: JmapServices, accountId: number, keepId?: number): Promise<void> {
  const k = services.db.kysely;
  const cutoff = services.now() - services.config.jmap.upload_ttl;
  const expired = await k.selectFrom('jmap_uploads').select(['id', 'blob_id']).where('created_at', '<=', cutoff).limit(1000).execute();
  const rows = await k
    .selectFrom('jmap_uploads')
    .select(['id', 'blob_id', 'size'])
    .where('account_id', '=', accountId)
    .orderBy('id', 'desc')
    .execute();
  let used = 0;
  const over: Array<{ id: number; blob_id: string }> = [];
  for (const r of rows) {
    used += r.size;
    if (used > services.config.jmap.upload_quota && r.id !== keepId) over.push(r);
  }
  const victims = [...expired, ...over];
  if (!victims.length) return;
  await k
    .deleteFrom('jmap_uploads')
    .where(
      'id',
      'in',
      victims.map((v) => v.id),
    )
    .execute();
  for (const sha of new Set(victims.map((v) => v.blob_id))) await collect(services, sha);
}

/** Stores uploaded bytes durably and records them for the account only (RFC 8620 §6.1). */
export async function storeUpload(
  services: JmapServices,
  accountId: number,
  bytes: Buffer,
  contentType: string | undefined,
): Promise<UploadResult> {
  const type = cleanMediaType(contentType);
  const sha = await services.blobs.put(bytes);
  const row = await services.db.kysely
    .insertInto('jmap_uploads')
    .values({ account_id: accountId, blob_id: sha, type, size: bytes.length, created_at: services.now() })
    .returning('id')
    .executeTakeFirstOrThrow();
  await pruneUploads(services, accountId, row.id);
  return { blobId: toBlobId(sha), type, size: bytes.length };
}
