// The outbound queue's contract on SQLite and PostgreSQL: durable enqueue, leases that two
// workers never share, per-recipient state, and clean-up that keeps blobs still in use.
import assert from 'node:assert/strict';
import { BLOB_GRACE_MS, sweepBlobs } from '../../../src/store/blob-gc.ts';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { retryDelay } from '../../../src/mail/queue/backoff.ts';
import { buildBounce } from '../../../src/mail/queue/dsn.ts';
import { OutboundQueue } from '../../../src/mail/queue/queue.ts';
import { parseRoutes, resolveRoute } from '../../../src/mail/queue/routes.ts';
import { enhancedStatus } from '../../../src/mail/queue/status.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`outbound queue (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let blobs: FsBlobStore;
    let cleanup: () => Promise<void> = async () => {};
    let now = 1_000_000;
    let queue: OutboundQueue;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-queue-unit-'));
      let url = '';
      if (dialect === 'postgres') {
        const tmp = await tempPgDatabase();
        url = tmp.url;
        cleanup = tmp.drop;
      }
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      blobs = new FsBlobStore(path.join(dir, 'blobs'));
      queue = new OutboundQueue(db, blobs, { maxAgeMs: 10_000, now: () => now });
    });
    after(async () => {
      await db.close();
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it('enqueues durably and groups claimed recipients by message and domain', async () => {
      const message = Buffer.from('Subject: q\r\n\r\nbody\r\n');
      const id = await queue.enqueue({
        sender: 'a@local.example',
        recipients: ['x@one.example', 'y@one.example', 'z@two.example'],
        message,
      });
      assert.equal((await queue.list())[0]!.id, id);
      assert.ok(await blobs.has(listedBlob(message)), 'the message is in the blob store');
      const batches = await queue.claim('w1', 10, 60_000);
      assert.deepEqual(
        batches.map((b) => [b.domain, b.recipients.map((r) => r.recipient)]),
        [
          ['one.example', ['x@one.example', 'y@one.example']],
          ['two.example', ['z@two.example']],
        ],
      );
      assert.equal(batches[0]!.expiresAt, now + 10_000);
      // leased: a second worker gets nothing until the lease runs out
      assert.deepEqual(await queue.claim('w2', 10, 60_000), []);
      now += 60_001;
      assert.equal((await queue.claim('w2', 10, 60_000)).length, 2);
      // state per recipient
      const [one, two] = batches;
      await queue.markSent(one!.recipients[0]!.id, '250 ok');
      await queue.markFailed(one!.recipients[1]!.id, '550 5.1.1 no');
      await queue.markDeferred(two!.recipients[0]!.id, '451 later', now + 5000);
      assert.equal(await queue.finishIfDone(id), false);
      const listed = (await queue.list())[0]!;
      assert.deepEqual(
        listed.recipients.map((r) => [r.status, r.attempts]),
        [
          ['sent', 0],
          ['failed', 1],
          ['queued', 1],
        ],
      );
      assert.deepEqual(await queue.claim('w3', 10, 60_000), [], 'not due before next_attempt_at');
      assert.equal(await queue.retryNow(id), 1);
      const again = await queue.claim('w3', 10, 60_000);
      assert.equal(again.length, 1);
      await queue.markSent(again[0]!.recipients[0]!.id, '250 ok');
      assert.equal(await queue.finishIfDone(id), true);
      assert.deepEqual(await queue.list(), []);
      assert.equal(await blobs.has(listedBlob(message)), true, 'a freshly written blob outlives its row for the grace window');
      assert.equal(await sweepBlobs(db, blobs, Date.now() + BLOB_GRACE_MS + 1000), 1);
      assert.equal(await blobs.has(listedBlob(message)), false, 'the blob is gone with the last message');
    });

    it('remove keeps a blob another queued message still uses', async () => {
      const message = Buffer.from('Subject: shared\r\n\r\nsame bytes\r\n');
      const a = await queue.enqueue({ sender: '', recipients: ['x@one.example'], message });
      await queue.enqueue({ sender: '', recipients: ['y@one.example'], message });
      await queue.remove(a);
      assert.equal(await blobs.has(listedBlob(message)), true);
      await assert.rejects(queue.remove(a), /no queued message/);
    });
  });
}

function listedBlob(message: Buffer): string {
  return createHash('sha256').update(message).digest('hex');
}

describe('routes (RFC 5321 §5.1, RFC 7505)', () => {
  const routes = parseRoutes(['special.example=127.0.0.1:2526', 'bare.example=relay.example', 'bad'], 25);
  it('static routes win; MX hosts sorted by preference; no MX means the domain itself', async () => {
    assert.deepEqual(await resolveRoute('SPECIAL.example', { routes, port: 25 }), {
      kind: 'hops',
      hops: [{ host: '127.0.0.1', port: 2526 }],
    });
    assert.deepEqual(await resolveRoute('bare.example', { routes, port: 25 }), {
      kind: 'hops',
      hops: [{ host: 'relay.example', port: 25 }],
    });
    const mx = async () => [
      { exchange: 'b.mx.example', priority: 20 },
      { exchange: 'a.mx.example.', priority: 10 },
    ];
    assert.deepEqual(await resolveRoute('x.example', { routes, port: 25, resolveMx: mx }), {
      kind: 'hops',
      hops: [
        { host: 'a.mx.example', port: 25 },
        { host: 'b.mx.example', port: 25 },
      ],
    });
    const fail = (code: string) => async () => {
      throw Object.assign(new Error(code), { code });
    };
    assert.deepEqual(await resolveRoute('n.example', { routes, port: 25, resolveMx: fail('ENODATA') }), {
      kind: 'hops',
      hops: [{ host: 'n.example', port: 25 }],
    });
    assert.equal((await resolveRoute('n.example', { routes, port: 25, resolveMx: fail('ENOTFOUND') })).kind, 'permanent');
    assert.equal((await resolveRoute('n.example', { routes, port: 25, resolveMx: fail('ETIMEOUT') })).kind, 'temporary');
    const nullMx = await resolveRoute('n.example', { routes, port: 25, resolveMx: async () => [{ exchange: '', priority: 0 }] });
    assert.deepEqual(nullMx, { kind: 'permanent', error: 'domain n.example does not accept mail (null MX)', status: '5.1.10' });
  });
});

describe('retry back-off, status codes and bounces', () => {
  it('doubles from the initial delay up to the cap, with bounded jitter', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => retryDelay(n, 60_000, 3_600_000, mid)),
      [60_000, 120_000, 240_000, 480_000, 3_600_000],
    );
    assert.equal(
      retryDelay(1, 60_000, 3_600_000, () => 1),
      66_000,
    );
    assert.equal(
      retryDelay(1, 60_000, 3_600_000, () => 0),
      54_000,
    );
  });

  it('reads enhanced status codes from replies (RFC 3463)', () => {
    assert.equal(enhancedStatus('550 5.1.1 No such user', 550), '5.1.1');
    assert.equal(enhancedStatus('550 No such user', 550), '5.0.0');
    assert.equal(enhancedStatus('451 try later', 451), '4.0.0');
  });

  it('builds an RFC 3464 report with the original header only', () => {
    const report = buildBounce({
      hostname: 'mx.example',
      sender: 'alice@example.com',
      original: Buffer.from('Subject: hi\r\nFrom: alice@example.com\r\n\r\nsecret body\r\n'),
      arrivedAt: Date.UTC(2026, 0, 1),
      failed: [
        { recipient: 'gone@remote.example', status: '4.4.7', diagnostic: 'delivery time expired', lastAttemptAt: Date.UTC(2026, 0, 6) },
      ],
      now: Date.UTC(2026, 0, 6),
    }).toString();
    assert.match(report, /^From: Mail Delivery System <MAILER-DAEMON@mx\.example>\r\nTo: <alice@example\.com>\r\n/);
    assert.match(report, /Auto-Submitted: auto-replied\r\n/);
    assert.match(
      report,
      /Content-Type: message\/delivery-status\r\n\r\nReporting-MTA: dns; mx\.example\r\nArrival-Date: Thu, 1 Jan 2026 00:00:00 \+0000\r\n\r\nFinal-Recipient: rfc822; gone@remote\.example\r\nAction: failed\r\nStatus: 5\.4\.7\r\n/,
    );
    assert.match(report, /Content-Type: text\/rfc822-headers\r\n\r\nSubject: hi\r\nFrom: alice@example\.com\r\n\r\n--=_fp_/);
    assert.doesNotMatch(report, /secret body/);
  });
});
