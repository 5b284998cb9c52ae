// Blob store throughput (docs/operations.md "Blob storage for several nodes"): MB/s to store and
// to read back message-sized blobs in the file store, the database store on SQLite and the
// database store on PostgreSQL and (with --s3) an S3 bucket on a single-node OpenStack Swift
// (test/helpers/swift.ts), rounds interleaved, with each figure's ratio to the file store.
//   ./node_modules/.bin/node bench/blobs.ts [--rounds 3] [--count 200] [--pg postgres://postgres@127.0.0.1:5432/test] [--s3]
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type BlobStore, FsBlobStore } from '../src/store/blobs.ts';
import { S3BlobStore } from '../src/store/blobs-s3.ts';
import { DbBlobStore } from '../src/store/db-blobs.ts';
import { type Db, openDb } from '../src/store/db.ts';
import { startSwift } from '../test/helpers/swift.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    count: { type: 'string', default: '200' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    s3: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const COUNT = Number(values.count);
const SIZES = [10 * 1024, 1024 * 1024];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function tempPg(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `fp_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values.pg });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(values.pg!);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: values.pg });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Stores then reads `blobs` one after another; MB/s of each half. */
async function measure(store: BlobStore, blobs: readonly Buffer[]): Promise<{ put: number; get: number }> {
  const mb = blobs.reduce((n, b) => n + b.length, 0) / 1e6;
  let t = performance.now();
  const ids: string[] = [];
  for (const b of blobs) ids.push(await store.put(b));
  const put = mb / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const id of ids) await store.get(id);
  const get = mb / ((performance.now() - t) / 1000);
  for (const id of ids) await store.delete(id);
  return { put, get };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-blobs-'));
const sqlite: Db = await openDb({ url: '', sqlitePath: path.join(dir, 'fp.db') });
const pgDb = await tempPg();
const postgres: Db = await openDb({ url: pgDb.url, sqlitePath: '' });
const stores: Array<[string, BlobStore]> = [
  ['files', new FsBlobStore(path.join(dir, 'blobs'))],
  ['database (SQLite)', new DbBlobStore(sqlite)],
  ['database (PostgreSQL)', new DbBlobStore(postgres)],
];
const swift = values.s3 ? await startSwift() : undefined;
const s3 = swift && new S3BlobStore({ ...swift, region: 'us-east-1', bucket: 'fingerpost-bench', prefix: 'blobs/', pathStyle: true });
if (s3) {
  await s3.ensureBucket();
  stores.push(['s3 (Swift)', s3]);
}
try {
  console.log(`blob stores, ${COUNT} blobs per size and round, ${ROUNDS} rounds interleaved, medians; load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| size | store | put MB/s | get MB/s | put ÷ files | get ÷ files |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const size of SIZES) {
    const count = size >= 1024 * 1024 ? Math.max(10, Math.floor(COUNT / 10)) : COUNT;
    const results = new Map<string, { put: number[]; get: number[] }>(stores.map(([name]) => [name, { put: [], get: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      // Fresh bytes per round: nothing is deduplicated away.
      const blobs = Array.from({ length: count }, () => randomBytes(size));
      for (const [name, store] of stores) {
        const r = await measure(store, blobs);
        results.get(name)!.put.push(r.put);
        results.get(name)!.get.push(r.get);
      }
    }
    const base = results.get('files')!;
    for (const [name] of stores) {
      const r = results.get(name)!;
      console.log(
        `| ${size / 1024} KiB | ${name} | ${median(r.put).toFixed(1)} | ${median(r.get).toFixed(1)} | ${(median(r.put) / median(base.put)).toFixed(2)} | ${(median(r.get) / median(base.get)).toFixed(2)} |`,
      );
    }
  }
} finally {
  await sqlite.close();
  await postgres.close();
  await pgDb.drop();
  s3?.close();
  await swift?.close();
  await rm(dir, { recursive: true, force: true });
}
