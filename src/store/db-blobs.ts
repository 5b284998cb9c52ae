import { Readable } from 'node:stream';
import { FingerpostError } from '../core/errors.ts';
import { type BlobStore, blobIdInSteps } from './blobs.ts';
import type { Db } from './db.ts';

/** Bytes per row of `blob_chunks`: a 50 MB message is 50 rows, none of them huge. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

const ID_RE = /^[0-9a-f]{64}$/;
const IDS_PAGE = 1000;

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new FingerpostError('invalid_argument', 'malformed blob id');
  return id;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Content-addressed blobs in the database (migration 003-blobs), so every node on one PostgreSQL
 * reads what any node wrote. A blob's row and all its chunks commit in one transaction: readers
 * never see part of a blob, and a commit is as durable as the database makes it.
 */
export class DbBlobStore implements BlobStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async put(data: Uint8Array): Promise<string> {
    const id = await blobIdInSteps(data);
    const now = Date.now();
    if (await this.#touch(id, now)) return id;
    await this.#db.kysely.transaction().execute(async (trx) => {
      // A concurrent writer of the same bytes (another node) wins the row; its chunks are ours too.
      const inserted = await trx
        .insertInto('blobs')
        .values({ id, size: data.byteLength, written_at: now })
        .onConflict((c) => c.column('id').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return;
      for (let seq = 0; seq * BLOB_CHUNK_BYTES < data.byteLength; seq++) {
        const chunk = data.subarray(seq * BLOB_CHUNK_BYTES, (seq + 1) * BLOB_CHUNK_BYTES);
        await trx.insertInto('blob_chunks').values({ blob_id: id, seq, data: chunk }).execute();
      }
    });
    await this.#touch(id, now);
    return id;
  }

  /** Re-storing counts as a fresh write, so the collector's grace window covers this writer too. */
  async #touch(id: string, now: number): Promise<boolean> {
    const updated = await this.#db.kysely.updateTable('blobs').set({ written_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async #size(id: string): Promise<number> {
    const row = await this.#db.kysely.selectFrom('blobs').select('size').where('id', '=', checkId(id)).executeTakeFirst();
    if (!row) throw new FingerpostError('not_found', `blob ${id} not found`);
    return Number(row.size);
  }

  async get(id: string): Promise<Buffer> {
    const size = await this.#size(id);
    const rows = await this.#db.kysely.selectFrom('blob_chunks').select('data').where('blob_id', '=', id).orderBy('seq').execute();
    const whole = Buffer.concat(rows.map((r) => asBuffer(r.data)));
    if (whole.byteLength !== size) throw new FingerpostError('internal', `blob ${id} is incomplete in the database`);
    return whole;
  }

  async range(id: string, start: number, end: number): Promise<Buffer> {
    const size = await this.#size(id);
    const from = Math.max(0, start);
    const to = Math.min(size, end);
    if (to <= from) return Buffer.alloc(0);
    const first = Math.floor(from / BLOB_CHUNK_BYTES);
    const last = Math.floor((to - 1) / BLOB_CHUNK_BYTES);
    const rows = await this.#db.kysely
      .selectFrom('blob_chunks')
      .select('data')
      .where('blob_id', '=', id)
      .where('seq', '>=', first)
      .where('seq', '<=', last)
      .orderBy('seq')
      .execute();
    const joined = Buffer.concat(rows.map((r) => asBuffer(r.data)));
    const offset = first * BLOB_CHUNK_BYTES;
    return joined.subarray(from - offset, to - offset);
  }

  /** Reads one chunk at a time, so streaming a large blob holds at most 1 MiB of it. */
  stream(id: string): Readable {
    checkId(id);
    const db = this.#db;
    const size = () => this.#size(id);
    return Readable.from(
      (async function* () {
        const total = await size();
        for (let seq = 0; seq * BLOB_CHUNK_BYTES < total; seq++) {
          const row = await db.kysely
            .selectFrom('blob_chunks')
            .select('data')
            .where('blob_id', '=', id)
            .where('seq', '=', seq)
            .executeTakeFirst();
          if (!row) throw new FingerpostError('internal', `blob ${id} is incomplete in the database`);
          yield asBuffer(row.data);
        }
      })(),
      { objectMode: false },
    );
  }

  async has(id: string): Promise<boolean> {
    const row = await this.#db.kysely.selectFrom('blobs').select('id').where('id', '=', checkId(id)).executeTakeFirst();
    return row !== undefined;
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    await this.#db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom('blobs').where('id', '=', id).execute();
      await trx.deleteFrom('blob_chunks').where('blob_id', '=', id).execute();
    });
  }

  async writtenAt(id: string): Promise<number | undefined> {
    const row = await this.#db.kysely.selectFrom('blobs').select('written_at').where('id', '=', checkId(id)).executeTakeFirst();
    return row ? Number(row.written_at) : undefined;
  }

  /** Every stored blob id, a page at a time in id order. */
  async *ids(): AsyncGenerator<string> {
    let after = '';
    for (;;) {
      const rows = await this.#db.kysely.selectFrom('blobs').select('id').where('id', '>', after).orderBy('id').limit(IDS_PAGE).execute();
      for (const r of rows) yield r.id;
      if (rows.length < IDS_PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }
}
