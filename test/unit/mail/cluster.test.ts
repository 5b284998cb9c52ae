// Two nodes on one PostgreSQL: a change made through one store reaches watchers of the other.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { createLogger } from '../../../src/core/log.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { shareMailChanges } from '../../../src/mail/cluster.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MailStore } from '../../../src/mail/store.ts';
import type { MailChange } from '../../../src/mail/types.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const skip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
let dir: string;
let drop = async () => {};
let nodes: Db[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'fp-cluster-'));
  const tmp = await tempPgDatabase();
  drop = tmp.drop;
  nodes = [await openDb({ url: tmp.url, sqlitePath: '' }), await openDb({ url: tmp.url, sqlitePath: '' })];
});
after(async () => {
  for (const db of nodes) await db.close();
  await drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('announces mail changes made on another node', { skip }, async () => {
  const [a, b] = nodes as [Db, Db];
  const admin = new AccountAdmin(a, new SqlDirectory(a));
  await admin.addDomain('example.test');
  const account = (await admin.addUser({ address: 'carol@example.test', password: 'a long password' })).account.id;
  const blobs = new FsBlobStore(path.join(dir, 'blobs'));
  const storeA = new MailStore(a, blobs, mimeParser);
  const storeB = new MailStore(b, blobs, mimeParser);
  const logger = createLogger('silent');
  const stops = [await shareMailChanges(a, storeA, logger, 20), await shareMailChanges(b, storeB, logger, 20)];
  const seenOnB: MailChange[] = [];
  const seenOnA: MailChange[] = [];
  storeB.watch(account, (c) => seenOnB.push(c));
  storeA.watch(account, (c) => seenOnA.push(c));
  const { modseq } = await storeA
    .deliver(account, Buffer.from('Subject: hello\r\n\r\nfrom node A\r\n'))
    .then(async (r) => ({ ...r, modseq: await storeA.accountModseq(account) }));
  for (let i = 0; i < 200 && !seenOnB.length; i++) await new Promise((r) => setTimeout(r, 20));
  for (const stop of stops) stop();
  assert.equal(seenOnB.length, 1, 'node B heard of the delivery on node A');
  assert.equal(seenOnB[0]!.modseq, modseq);
  assert.ok(seenOnB[0]!.types.includes('Email'));
  assert.equal(seenOnA.length, 1, 'node A heard of its own change once, not again through the table');
});
