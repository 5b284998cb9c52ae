// One contract for every BlobStore: files, the database on SQLite and on PostgreSQL, and an S3
// bucket on a real OpenStack Swift (s3api) started by test/helpers/swift.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { BLOB_GRACE_MS, releaseBlob } from '../../../src/store/blob-gc.ts';
import { type BlobStore, FsBlobStore } from '../../../src/store/blobs.ts';
import { S3BlobStore } from '../../../src/store/blobs-s3.ts';
import { BLOB_CHUNK_BYTES, DbBlobStore } from '../../../src/store/db-blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';
import { startSwift, swiftSkip, type TestSwift } from '../../helpers/swift.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const s3Skip = swiftSkip();

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

const kinds = [
  { name: 'files', engine: 'sqlite' },
  { name: 'database', engine: 'sqlite' },
  { name: 'database', engine: 'postgres' },
  { name: 's3', engine: 'sqlite' },
] as const;

for (const kind of kinds) {
  const skip = kind.engine === 'postgres' ? pgSkip : kind.name === 's3' ? s3Skip : false;
  describe(`blob store contract (${kind.name} on ${kind.engine})`, { skip }, () => {
    let dir: string;
    let db: Db;
    let url = '';
    let drop: () => Promise<void> = async () => {};
    let blobs: BlobStore;
    let swift: TestSwift | undefined;
    const opened: S3BlobStore[] = [];
    const open = (): BlobStore => {
      if (kind.name === 'files') return new FsBlobStore(path.join(dir, 'blobs'));
      if (kind.name === 'database') return new DbBlobStore(db);
      const s3 = new S3BlobStore({ ...swift!, region: 'us-east-1', bucket: 'fingerpost-contract', prefix: 'blobs/', pathStyle: true });
      opened.push(s3);
      return s3;
    };

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-blobs-'));
      if (kind.engine === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      if (kind.name === 's3') swift = await startSwift();
      blobs = open();
      if (blobs instanceof S3BlobStore) await blobs.ensureBucket();
    });

    after(async () => {
      for (const s3 of opened) s3.close();
      await swift?.close();
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('returns exactly the bytes stored, under their SHA-256 id', async () => {
      const data = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
      const id = await blobs.put(data);
      assert.equal(id, sha256(data));
      assert.equal(await blobs.put(data), id, 'same bytes, same id');
      assert.deepEqual(await blobs.get(id), data);
      assert.deepEqual(await drain(blobs.stream(id)), data);
      assert.equal((await blobs.range(id, 0, 7)).toString(), 'Subject');
      assert.equal(await blobs.has(id), true);
    });

    it('keeps a blob of several chunks byte for byte, and reads ranges across chunk edges', async () => {
      const data = randomBytes(BLOB_CHUNK_BYTES * 2 + 12345);
      const id = await blobs.put(data);
      assert.equal(sha256(await blobs.get(id)), sha256(data));
      assert.equal(sha256(await drain(blobs.stream(id))), sha256(data));
      const edge = BLOB_CHUNK_BYTES - 10;
      assert.deepEqual(await blobs.range(id, edge, edge + 20), data.subarray(edge, edge + 20));
      assert.deepEqual(await blobs.range(id, 0, data.length + 100), data, 'a range past the end stops at the end');
      assert.deepEqual(await blobs.range(id, data.length - 5, data.length), data.subarray(data.length - 5));
    });

    it('stores the empty blob', async () => {
      const id = await blobs.put(new Uint8Array(0));
      assert.equal((await blobs.get(id)).length, 0);
      assert.equal((await drain(blobs.stream(id))).length, 0);
    });

    it('stores the same bytes once when two writers race, and both get the id', async () => {
      const data = randomBytes(BLOB_CHUNK_BYTES + 7);
      const other = open();
      const [a, b] = await Promise.all([blobs.put(data), other.put(data)]);
      assert.equal(a, b);
      assert.equal(sha256(await other.get(a)), sha256(data));
      assert.equal((await Array.fromAsync(blobs.ids())).filter((x) => x === a).length, 1);
    });

    it('deletes, and answers not_found for what is gone or never was', async () => {
      const id = await blobs.put(Buffer.from('short-lived'));
      await blobs.delete(id);
      assert.equal(await blobs.has(id), false);
      assert.equal(await blobs.writtenAt(id), undefined);
      await assert.rejects(blobs.get(id), (e) => isFingerpostError(e, 'not_found'));
      assert.ok(!(await Array.fromAsync(blobs.ids())).includes(id));
    });

    it('refuses a malformed id before touching storage', async () => {
      await assert.rejects(blobs.get('../../etc/passwd'), (e) => isFingerpostError(e, 'invalid_argument'));
      assert.throws(
        () => blobs.stream('../../etc/passwd'),
        (e) => isFingerpostError(e, 'invalid_argument'),
      );
    });

    it('lets the collector delete an unreferenced blob only after the grace window', async () => {
      const id = await blobs.put(Buffer.from(`orphan ${kind.name} ${kind.engine}`));
      const written = (await blobs.writtenAt(id))!;
      assert.ok(Math.abs(written - Date.now()) < 60_000);
      assert.equal(await releaseBlob(db, blobs, id, written + 1000), false, 'fresh: its row may be on the way');
      assert.equal(await releaseBlob(db, blobs, id, written + BLOB_GRACE_MS + 1000), true);
      assert.equal(await blobs.has(id), false);
    });
  });
}
