// Moving message bodies from DATA/blobs into the database without downtime (docs/operations.md):
// mail appended with imapflow before, during and after `fingerpost admin blobs migrate` comes back
// byte for byte over IMAP after the switch of store.blobs, on SQLite and on PostgreSQL; the
// source is emptied only once the configuration names the new store. The same from the files into
// an S3 bucket on OpenStack Swift (test/helpers/swift.ts), and on from the bucket into the database.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { startSwift, swiftSkip, type TestSwift } from '../helpers/swift.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function message(n: number): Buffer {
  // Bytes a careless store would change: a long line, no final line break, 8-bit text.
  return Buffer.from(`From: bob@example.test\r\nSubject: blob ${n}\r\n\r\n${'ä'.repeat(n * 300)}\r\nend without CRLF ${n}`);
}

async function withImap<T>(t: TestServer, login: { address: string; password: string }, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: t.ports.imaps,
    secure: true,
    tls: { ca: t.ca, servername: 'localhost' },
    auth: { user: login.address, pass: login.password },
    logger: false,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}

async function append(t: TestServer, login: { address: string; password: string }, n: number): Promise<void> {
  await withImap(t, login, (c) => c.append('INBOX', message(n)));
}

async function bodies(t: TestServer, login: { address: string; password: string }): Promise<string[]> {
  return withImap(t, login, async (c) => {
    await c.mailboxOpen('INBOX');
    const out: string[] = [];
    for await (const m of c.fetch('1:*', { source: true, uid: true })) out.push(sha(m.source!));
    return out;
  });
}

async function blobFiles(dataDir: string): Promise<number> {
  let n = 0;
  const root = path.join(dataDir, 'blobs');
  for (const a of await readdir(root).catch(() => [] as string[]))
    for (const b of await readdir(path.join(root, a)).catch(() => [] as string[]))
      n += (await readdir(path.join(root, a, b)).catch(() => [] as string[])).length;
  return n;
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`admin blobs migrate, files → database (${engine})`, { skip: engine === 'postgres' ? pgSkip : false }, () => {
    let dataDir = '';
    let drop: () => Promise<void> = async () => {};
    let t: TestServer | undefined;

    after(async () => {
      await t?.close();
      await drop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('moves every body while the server runs, reads through until the source is emptied, and loses nothing', async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-blobmig-'));
      const store: Record<string, unknown> = {};
      const env: Record<string, string> = {};
      if (engine === 'postgres') {
        const pg = await tempPgDatabase();
        drop = pg.drop;
        store.url = pg.url;
        env.FINGERPOST_STORE_URL = pg.url;
      }
      t = await startTestServer({ dataDir, overrides: { store: { ...store, blobs: 'files' } } });
      const login = t.admin;
      for (const n of [1, 2, 3]) await append(t, login, n);
      const expected = [1, 2, 3].map((n) => sha(message(n)));
      assert.deepEqual(await bodies(t, login), expected);

      const refused = await runCli(['admin', 'blobs', 'migrate', '--to', 'database', '--remove-source', '--data', dataDir], { env });
      assert.equal(refused.code, 2, 'removing the source the server still reads is refused');
      assert.match(refused.stderr, /set store\.blobs = "database"/);

      const copy = await runCli(['admin', 'blobs', 'migrate', '--to', 'database', '--data', dataDir], { env });
      assert.equal(copy.code, 0, copy.stderr);
      assert.match(copy.stdout, /copied to database/);
      assert.match(copy.stdout, /next: set store\.blobs = "database"/);

      // Written after the copy, before the switch: only the files hold it.
      await append(t, login, 4);
      expected.push(sha(message(4)));
      await t.close();

      t = await startTestServer({ dataDir, overrides: { store: { ...store, blobs: 'database' } } });
      assert.deepEqual(await bodies(t, login), expected, 'the straggler is read through from the files');
      await append(t, login, 5);
      expected.push(sha(message(5)));
      const filesBefore = await blobFiles(dataDir);

      const finish = await runCli(['admin', 'blobs', 'migrate', '--to', 'database', '--remove-source', '--data', dataDir], {
        env: { ...env, FINGERPOST_STORE_BLOBS: 'database' },
      });
      assert.equal(finish.code, 0, finish.stderr);
      assert.match(finish.stdout, /1 blob\(s\) copied to database/);
      assert.ok(filesBefore >= 4);
      assert.equal(await blobFiles(dataDir), 0, 'the files are gone once the database holds them');
      assert.deepEqual(await bodies(t, login), expected, 'the running server still answers every message');
      await t.close();

      t = await startTestServer({ dataDir, overrides: { store: { ...store, blobs: 'database' } } });
      assert.deepEqual(await bodies(t, login), expected, 'and so does a fresh start on the database alone');
    });
  });
}

describe('admin blobs migrate, files → s3 → database (SQLite, Swift)', { skip: swiftSkip() }, () => {
  let dataDir = '';
  let swift: TestSwift | undefined;
  let t: TestServer | undefined;

  after(async () => {
    await t?.close();
    await swift?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('moves every body into the bucket while the server runs, serves from it, and moves on out of it', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-blobmig-s3-'));
    swift = await startSwift();
    const s3 = {
      endpoint: swift.endpoint,
      bucket: 'fingerpost-mail',
      access_key_id: swift.accessKeyId,
      secret_access_key: swift.secretAccessKey,
    };
    const env = {
      FINGERPOST_STORE_S3_ENDPOINT: s3.endpoint,
      FINGERPOST_STORE_S3_BUCKET: s3.bucket,
      FINGERPOST_STORE_S3_ACCESS_KEY_ID: s3.access_key_id,
      FINGERPOST_STORE_S3_SECRET_ACCESS_KEY: s3.secret_access_key,
    };
    t = await startTestServer({ dataDir, overrides: { store: { blobs: 'files', s3 } } });
    const login = t.admin;
    for (const n of [1, 2]) await append(t, login, n);
    const expected = [1, 2].map((n) => sha(message(n)));

    const copy = await runCli(['admin', 'blobs', 'migrate', '--to', 's3', '--data', dataDir], { env });
    assert.equal(copy.code, 0, copy.stderr);
    assert.match(copy.stdout, /2 blob\(s\) copied to s3/);
    assert.doesNotMatch(copy.stdout + copy.stderr, new RegExp(s3.secret_access_key), 'the secret is never printed');
    await append(t, login, 3);
    expected.push(sha(message(3)));
    await t.close();

    t = await startTestServer({ dataDir, overrides: { store: { blobs: 's3', s3 } } });
    assert.deepEqual(await bodies(t, login), expected, 'the straggler is read through from the files');
    await append(t, login, 4);
    expected.push(sha(message(4)));
    const finish = await runCli(['admin', 'blobs', 'migrate', '--to', 's3', '--remove-source', '--data', dataDir], {
      env: { ...env, FINGERPOST_STORE_BLOBS: 's3' },
    });
    assert.equal(finish.code, 0, finish.stderr);
    assert.match(finish.stdout, /1 blob\(s\) copied to s3, 2 already there, 3 removed from files/);
    assert.equal(await blobFiles(dataDir), 0, 'the files are gone once the bucket holds them');
    assert.deepEqual(await bodies(t, login), expected, 'the running server answers every message from the bucket');
    await t.close();

    // On to the database: the bucket is the source now (named, as the files store is empty).
    t = await startTestServer({ dataDir, overrides: { store: { blobs: 'database', s3 } } });
    assert.deepEqual(await bodies(t, login), expected, 'read through from the bucket');
    const out = await runCli(['admin', 'blobs', 'migrate', '--to', 'database', '--remove-source', '--data', dataDir], {
      env: { ...env, FINGERPOST_STORE_BLOBS: 'database' },
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /4 blob\(s\) copied to database, 0 already there, 4 removed from s3/);
    await t.close();
    t = await startTestServer({ dataDir, overrides: { store: { blobs: 'database' } } });
    assert.deepEqual(await bodies(t, login), expected, 'a fresh start without the bucket still has every body');
  });
});
