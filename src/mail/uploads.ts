import { releaseBlob } from '../store/blob-gc.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Db } from '../store/db.ts';
import type { ParsedMessage } from './mime/types.ts';

/** How long an unreferenced upload is kept and how many of its bytes an account may hold. */
export interface UploadLimits {
  readonly ttlMs: number;
  readonly quotaBytes: number;
}

/**
 * Blobs an account uploaded (RFC 8620 §6.1) and where an account may find a blob: a message of
 * its own, or one of its own uploads that has not expired. Blob ids are content hashes, so this
 * check (not the id) is what keeps one account from reading another's data.
 */
export class Uploads {
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #now: () => number;

  constructor(db: Db, blobs: BlobStore, now: () => number) {
    this.#db = db;
    this.#blobs = blobs;
    this.#now = now;
  }

  /** Stores uploaded bytes durably for the account only, then prunes; resolves with their hash. */
  async add(accountId: number, bytes: Buffer, type: string, limits: UploadLimits): Promise<string> {
    const sha = await this.#blobs.put(bytes);
    const row = await this.#db.kysely
      .insertInto('jmap_uploads')
      .values({ account_id: accountId, blob_id: sha, type, size: bytes.length, created_at: this.#now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.prune(accountId, limits, row.id);
    return sha;
  }

  /**
   * Drops expired uploads (older than `ttlMs`, at least an hour per RFC 8620 §6.1) and, while the
   * account holds more than `quotaBytes`, its oldest uploads; `keepId` (the upload just answered
   * with its blobId) is never dropped, even when it alone exceeds the quota.
   */
  async prune(accountId: number, limits: UploadLimits, keepId?: number): Promise<void> {
    const k = this.#db.kysely;
    const cutoff = this.#now() - limits.ttlMs;
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
      if (used > limits.quotaBytes && r.id !== keepId) over.push(r);
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
    // A blob file goes once nothing refers to it any more (store/blob-gc.ts decides).
    for (const sha of new Set(victims.map((v) => v.blob_id))) await releaseBlob(this.#db, this.#blobs, sha);
  }

  /** Where the account may find blob `sha`: one of its messages, an unexpired upload, or nowhere. */
  async source(
    accountId: number,
    sha: string,
    ttlMs: number,
  ): Promise<{ kind: 'message'; meta: ParsedMessage } | { kind: 'upload'; type: string } | undefined> {
    const message = await this.#db.kysely
      .selectFrom('messages')
      .select('meta')
      .where('account_id', '=', accountId)
      .where('blob_id', '=', sha)
      .limit(1)
      .executeTakeFirst();
    if (message) return { kind: 'message', meta: JSON.parse(message.meta) as ParsedMessage };
    const upload = await this.#db.kysely
      .selectFrom('jmap_uploads')
      .select('type')
      .where('account_id', '=', accountId)
      .where('blob_id', '=', sha)
      .where('created_at', '>', this.#now() - ttlMs)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return upload ? { kind: 'upload', type: upload.type } : undefined;
  }
}
