// Outbound delivery through the durable queue to a receiving SMTP server started here on loopback
// (Postfix's smtp-sink): a temporary failure then success, a permanent failure producing a bounce
// (RFC 3464) in the sender's INBOX, and a host that is down keeping the message queued.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { DkimKeys } from '../../src/mail/queue/dkim.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf } from './smtp-helpers.ts';

// smtp-sink lives in /usr/sbin, which is not on every PATH.
const SINK = existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
const sinkSkip = commandSkip(SINK, 'postfix', ['-h']);
const PASSWORD = 'queue-test-password';

async function startSink(port: number, dump: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(SINK, ['-u', 'nobody', '-D', dump, ...extra, `127.0.0.1:${port}`, '16'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  const net = await import('node:net');
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline) throw new Error('smtp-sink did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopSink(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('outbound queue', { skip: sinkSkip }, () => {
  let t: TestServer;
  let dir: string;
  let sinkPort: number;
  let downPort: number;
  let send: (to: string, subject: string) => Promise<void>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-queue-'));
    await chmod(dir, 0o777);
    [sinkPort, downPort] = (await freePorts(2)) as [number, number];
    t = await startTestServer({
      domain: 'example.test',
      overrides: {
        queue: {
          routes: [`remote.test=127.0.0.1:${sinkPort}`, `down.test=127.0.0.1:${downPort}`],
          retry_initial: '1s',
          retry_max: '2s',
          poll_interval: '200ms',
          connect_timeout: '5s',
        },
      },
    });
    await t.services.accounts.addUser({ address: 'alice@example.test', password: PASSWORD });
    await new DkimKeys(t.services.db).create('example.test', 'fp1');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: 'alice@example.test', pass: PASSWORD },
    });
    send = async (to, subject) => {
      const info = await transport.sendMail({ from: 'alice@example.test', to, subject, text: 'outbound body\n' });
      assert.deepEqual(info.accepted, [to]);
    };
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a 4xx is retried with back-off and the message is then delivered once, DKIM-signed', async () => {
    const dump = path.join(dir, 'soft');
    let sink = await startSink(sinkPort, dump, ['-r', 'RCPT']);
    try {
      await send('dave@remote.test', 'retry me');
      const deferred = await until(async () => {
        const q = await t.services.db.kysely
          .selectFrom('queue_recipients')
          .selectAll()
          .where('recipient', '=', 'dave@remote.test')
          .executeTakeFirst();
        return q && q.attempts >= 1 ? q : undefined;
      }, 'a deferred attempt');
      assert.equal(deferred.status, 'queued');
      assert.match(deferred.last_error ?? '', /^4\d\d /);
    } finally {
      await stopSink(sink);
    }
    sink = await startSink(sinkPort, dump);
    try {
      await until(async () => {
        const rows = await t.services.db.kysely.selectFrom('queue_messages').select('id').execute();
        return rows.length === 0 ? true : undefined;
      }, 'the queue to drain');
      const content = await until(async () => {
        const c = await readFile(dump, 'utf8').catch(() => '');
        return c.includes('Subject: retry me') ? c : undefined;
      }, 'the sink to have the message');
      assert.equal(content.split('Subject: retry me').length - 1, 1, 'delivered exactly once');
      assert.match(content, /DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;[\s\S]*s=fp1;/);
    } finally {
      await stopSink(sink);
    }
  });

  test('a 5xx produces a bounce (multipart/report) in the sender INBOX and the message leaves the queue', async () => {
    const dump = path.join(dir, 'hard');
    const sink = await startSink(sinkPort, dump, ['-f', 'RCPT', '-B', '550 5.1.1 No such user here']);
    try {
      await send('gone@remote.test', 'bounce me');
      const bounce = await until(async () => {
        const inbox = await inboxOf(t, 'alice@example.test');
        return inbox.find((m) => m.includes('Subject: Undelivered Mail Returned to Sender'));
      }, 'the bounce');
      assert.match(bounce, /Content-Type: multipart\/report; report-type=delivery-status;/);
      assert.match(bounce, /Final-Recipient: rfc822; gone@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/);
      assert.match(bounce, /Diagnostic-Code: smtp; 550 5\.1\.1 No such user here/);
      assert.match(bounce, /Content-Type: text\/rfc822-headers\r\n\r\n[\s\S]*Subject: bounce me/);
      await until(
        async () => ((await t.services.db.kysely.selectFrom('queue_messages').select('id').execute()).length === 0 ? true : undefined),
        'queue empty',
      );
    } finally {
      await stopSink(sink);
    }
  });

  test('a host that is down keeps the message queued, with the error recorded', async () => {
    await send('erin@down.test', 'host down');
    const row = await until(async () => {
      const q = await t.services.db.kysely
        .selectFrom('queue_recipients')
        .selectAll()
        .where('recipient', '=', 'erin@down.test')
        .executeTakeFirst();
      return q && q.attempts >= 2 ? q : undefined;
    }, 'two failed attempts');
    assert.equal(row.status, 'queued');
    assert.match(row.last_error ?? '', /ECONNREFUSED|connect/i);
    const inbox = await inboxOf(t, 'alice@example.test');
    assert.ok(!inbox.some((m) => m.includes('host down') && m.includes('Undelivered')), 'no bounce yet');
  });
});
