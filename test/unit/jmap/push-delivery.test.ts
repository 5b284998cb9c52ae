// The Web Push outbox on two nodes of one PostgreSQL (RFC 8620 §7.2, RFC 8030): both nodes send
// at once and every message reaches the receiver exactly once (the lease claim); a refused send
// waits for its back-off on a fake clock and then goes out; 410 ends the subscription.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { OutboundHttp } from '../../../src/calendar/outbound.ts';
import { createLogger } from '../../../src/core/log.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MailStore } from '../../../src/mail/store.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import type { JmapServices } from '../../../src/protocols/jmap/context.ts';
import { backoffMs, PushDelivery } from '../../../src/protocols/jmap/push-subscription/delivery.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';
import { decryptPush, pushKeys } from '../../helpers/web-push.ts';

const skip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const ua = pushKeys();
let dir = '';
let drop = async () => {};
let dbs: Db[] = [];
let receiver: https.Server;
let answer = 201;
const got: string[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'fp-push-outbox-'));
  const tmp = await tempPgDatabase();
  drop = tmp.drop;
  dbs = [await openDb({ url: tmp.url, sqlitePath: '' }), await openDb({ url: tmp.url, sqlitePath: '' })];
  const tls = await ensureLocalTls(dir, ['localhost']);
  receiver = https.createServer({ cert: await readFile(tls.cert), key: await readFile(tls.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push(decryptPush(Buffer.concat(chunks), ua));
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => {
  receiver?.close();
  for (const db of dbs) await db.close();
  await drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('two nodes send each message once; back-off on a fake clock; 410 ends the subscription', { skip }, async () => {
  const [a, b] = dbs as [Db, Db];
  const admin = new AccountAdmin(a, new SqlDirectory(a));
  await admin.addDomain('example.test');
  const account = (await admin.addUser({ address: 'pat@example.test', password: 'a long password' })).account.id;
  const caPem = await readFile(path.join(dir, 'tls', 'ca.pem'), 'utf8');
  const outbound = new OutboundHttp({ allowPrivate: true, resolve: new Map(), extraCa: caPem, timeoutMs: 5000, userAgent: 'test' });
  let now = 1_900_000_000_000;
  const node = (db: Db) =>
    new PushDelivery(
      {
        db,
        mail: new MailStore(db, new FsBlobStore(path.join(dir, 'blobs')), mimeParser),
        logger: createLogger('silent'),
        now: () => now,
        config: {
          publicUrl: 'https://mail.example.test',
          jmap: { push_max_attempts: 8, push_retry_initial: 10_000, push_retry_max: 3_600_000 },
        },
      } as unknown as JmapServices,
      () => outbound,
    );
  const [nodeA, nodeB] = [node(a), node(b)];
  // Both nodes' passes, including the one an enqueue scheduled for the next turn of the event loop.
  const settle = async () => {
    await Promise.all([nodeA.tick(), nodeB.tick()]);
    await new Promise((r) => setImmediate(r));
    await Promise.all([nodeA.tick(), nodeB.tick()]);
  };
  const url = `https://localhost:${(receiver.address() as AddressInfo).port}/push`;
  const sub = await a.kysely
    .insertInto('jmap_push_subscriptions')
    .values({
      account_id: account,
      device_client_id: 'phone',
      url,
      p256dh: ua.keys.p256dh,
      auth: ua.keys.auth,
      verification_code: 'code',
      verified: 1,
      expires: now + 86_400_000,
      types: null,
      created_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (let i = 0; i < 30; i++) await nodeA.enqueueVerification(sub.id);
  await Promise.all([nodeA.tick(), nodeB.tick(), nodeA.tick(), nodeB.tick()]);
  assert.equal(got.length, 30, 'each of 30 messages arrived once, though two nodes sent at once');
  assert.ok(got.every((g) => JSON.parse(g)['@type'] === 'PushVerification'));

  answer = 503;
  await nodeB.enqueueVerification(sub.id);
  await settle();
  assert.equal(got.length, 31, 'tried once');
  await settle();
  assert.equal(got.length, 31, 'not again before the back-off');
  answer = 201;
  now += backoffMs(1) - 1;
  await settle();
  assert.equal(got.length, 31, 'not a millisecond early');
  now += 1;
  await settle();
  assert.equal(got.length, 32, 'sent again after the back-off, once');
  const left = await a.kysely.selectFrom('jmap_push_outbox').select('id').execute();
  assert.deepEqual(left, [], 'delivered messages leave the outbox');

  answer = 410;
  await nodeA.enqueueVerification(sub.id);
  await settle();
  const subs = await a.kysely.selectFrom('jmap_push_subscriptions').select('id').execute();
  assert.deepEqual(subs, [], '410 Gone ended the subscription');
  nodeA.stop();
  nodeB.stop();
});
