// The queue worker's MX handling: hosts are tried in preference order, and when the preferred MX
// cannot be reached the next one gets the message, once. The receiving ends are minimal SMTP
// servers on 127.0.0.1 and 127.0.0.3; the preferred "MX" is 127.0.0.2, where nothing listens.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';
import { OutboundQueue } from '../../../src/mail/queue/queue.ts';
import { QueueWorker } from '../../../src/mail/queue/worker.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';

/** Just enough of RFC 5321's server side to accept messages; records each DATA it gets. */
async function receiver(host: string, port = 0): Promise<{ port: number; messages: string[]; close: () => Promise<void> }> {
  const messages: string[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          messages.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('EHLO')) socket.write('250-sink\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('queue worker: MX hosts in preference order', () => {
  let db: Db;
  let dir: string;
  let sink: Awaited<ReturnType<typeof receiver>>;
  let last: Awaited<ReturnType<typeof receiver>>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-worker-'));
    db = await openDb({ url: '', sqlitePath: path.join(dir, 'fp.db') });
    sink = await receiver('127.0.0.1');
    last = await receiver('127.0.0.3', sink.port);
  });
  after(async () => {
    await sink.close();
    await last.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a preferred MX that refuses connections is skipped; the next one gets the message once', async () => {
    const queue = new OutboundQueue(db, new FsBlobStore(path.join(dir, 'blobs')), { maxAgeMs: 3_600_000 });
    const asked: string[] = [];
    const worker = new QueueWorker({
      queue,
      hostname: 'origin.test',
      routes: new Map(),
      port: sink.port,
      resolveMx: async (domain) => {
        asked.push(domain);
        // Listed out of order: the worker sorts by preference.
        return [
          { exchange: '127.0.0.3', priority: 30 },
          { exchange: '127.0.0.1', priority: 20 },
          { exchange: '127.0.0.2', priority: 10 },
        ];
      },
      retryInitialMs: 60_000,
      retryMaxMs: 60_000,
      pollMs: 60_000,
      concurrency: 1,
      timeoutMs: 5000,
      verifyMxTls: false,
      bounce: async () => assert.fail('nothing bounces'),
      logger: createLogger('silent'),
    });
    await queue.enqueue({
      sender: 'a@origin.test',
      recipients: ['b@far.example'],
      message: Buffer.from('Subject: failover\r\n\r\nhi\r\n'),
    });
    assert.equal(await worker.runOnce(), 1);
    assert.deepEqual(asked, ['far.example']);
    assert.equal(sink.messages.length, 1);
    assert.match(sink.messages[0]!, /Subject: failover/);
    assert.equal(last.messages.length, 0, 'the least preferred MX was not needed');
    assert.deepEqual(await queue.list(), [], 'sent: nothing left in the queue');
    assert.equal(await worker.runOnce(), 0, 'and nothing is sent twice');
    assert.equal(sink.messages.length, 1);
  });
});
