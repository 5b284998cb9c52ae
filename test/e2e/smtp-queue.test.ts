// Outbound delivery through the durable queue to a receiving SMTP server started here on loopback
// (Postfix's smtp-sink): a temporary failure then success, a permanent failure producing a bounce
// (RFC 3464) in the sender's INBOX, a host that is down keeping the message queued, and a
// recipient still undeliverable after queue.max_age bouncing (5.4.7); opportunistic and verified
// TLS to MX hosts.
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
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
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

// A host that is down: nothing listens on port 1, and unlike a free port picked at random no other
// test server running in parallel can start listening there halfway through.
const DOWN_HOST = '127.0.0.1:1';

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
  let send: (to: string, subject: string) => Promise<void>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-queue-'));
    await chmod(dir, 0o777);
    [sinkPort] = (await freePorts(1)) as [number];
    t = await startTestServer({
      domain: 'example.test',
      overrides: {
        queue: {
          routes: [`remote.test=127.0.0.1:${sinkPort}`, `down.test=${DOWN_HOST}`],
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
    // the admin CLI sees it (another process on the same store), and can remove it
    const list = await runCli(['admin', 'queue', 'list', '--data', t.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split('\n').find((l) => l.includes('erin@down.test'));
    assert.ok(line, list.stdout);
    assert.match(line, /^(\d+)\s+alice@example\.test\s+erin@down\.test\s+queued\s+\d+\s+\S+Z\s+.*ECONNREFUSED/);
    const id = /^(\d+)/.exec(line)![1]!;
    assert.equal((await runCli(['admin', 'queue', 'retry', id, '--data', t.dataDir])).code, 0);
    const removed = await runCli(['admin', 'queue', 'remove', id, '--data', t.dataDir]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(
      (await t.services.db.kysely.selectFrom('queue_recipients').select('id').where('recipient', '=', 'erin@down.test').execute()).length,
      0,
    );
  });
});

describe('smarthost with AUTH: a second Fingerpost relays for the first', () => {
  let relay: TestServer;
  let origin: TestServer;
  before(async () => {
    relay = await startTestServer({ domain: 'relay.test' });
    await relay.services.accounts.addUser({ address: 'relay-user@relay.test', password: 'relay-password-1' });
    await relay.services.accounts.addUser({ address: 'kim@relay.test', password: 'kim-password-12' });
    origin = await startTestServer({
      domain: 'origin.test',
      overrides: {
        submission: { sender_policy: 'any' },
        queue: {
          smarthost: `localhost:${relay.ports.submission}`,
          smarthost_tls: 'starttls',
          smarthost_user: 'relay-user@relay.test',
          smarthost_password: 'relay-password-1',
          smarthost_ca: relay.caFile,
          poll_interval: '200ms',
        },
      },
    });
    await origin.services.accounts.addUser({ address: 'lee@origin.test', password: 'lee-password-123' });
  });
  after(async () => {
    await origin.close();
    await relay.close();
  });

  test('queued mail goes to the smarthost over verified STARTTLS with AUTH and arrives', async () => {
    // The relay only lets its user send as its own addresses, so the envelope sender is that user.
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: origin.ports.submissions,
      secure: true,
      tls: { ca: origin.ca, servername: 'localhost' },
      auth: { user: 'lee@origin.test', pass: 'lee-password-123' },
    });
    await transport.sendMail({
      envelope: { from: 'relay-user@relay.test', to: ['kim@relay.test'] },
      from: 'lee@origin.test',
      to: 'kim@relay.test',
      subject: 'via smarthost',
      text: 'relayed\n',
    });
    transport.close();
    const msg = await until(
      async () => (await inboxOf(relay, 'kim@relay.test')).find((m) => m.includes('Subject: via smarthost')),
      'delivery through the smarthost',
    );
    assert.match(msg, /^Received: from localhost \(\[127\.0\.0\.1\]\)\r\n\tby localhost with ESMTPSA \(using TLSv1\.3/);
    assert.match(msg, /\r\nReceived: from [^\r]+\r\n\tby localhost with ESMTPSA[^\r]*\r\n\tfor <kim@relay\.test>/);
  });
});

describe('queue expiry', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      domain: 'example.test',
      overrides: {
        queue: {
          routes: [`down.test=${DOWN_HOST}`],
          retry_initial: '1s',
          retry_max: '1s',
          max_age: '3s',
          poll_interval: '200ms',
          connect_timeout: '2s',
        },
      },
    });
    await t.services.accounts.addUser({ address: 'alice@example.test', password: PASSWORD });
  });
  after(() => t.close());

  test('a recipient still undeliverable after queue.max_age bounces with 5.4.7 and leaves the queue', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: 'alice@example.test', pass: PASSWORD },
    });
    await transport.sendMail({ from: 'alice@example.test', to: 'erin@down.test', subject: 'expire me', text: 'x\n' });
    transport.close();
    const bounce = await until(async () => {
      const inbox = await inboxOf(t, 'alice@example.test');
      return inbox.find((m) => m.includes('Subject: Undelivered Mail Returned to Sender'));
    }, 'the expiry bounce');
    assert.match(bounce, /Final-Recipient: rfc822; erin@down\.test\r\nAction: failed\r\nStatus: 5\.4\.7\r\n/);
    assert.match(bounce, /delivery time expired/);
    assert.match(bounce, /Content-Type: text\/rfc822-headers\r\n\r\n[\s\S]*Subject: expire me/);
    // The bounce is delivered just before the worker removes the finished message: wait for that.
    await until(async () => {
      const left = await t.services.db.kysely
        .selectFrom('queue_recipients')
        .select('id')
        .where('recipient', '=', 'erin@down.test')
        .execute();
      return left.length === 0 ? true : undefined;
    }, 'the expired recipient leaving the queue');
  });
});

describe('TLS to MX hosts: opportunistic by default, verified with queue.verify_mx_tls', () => {
  let mx: TestServer;
  let loose: TestServer;
  let strict: TestServer;
  const submit = async (from: TestServer, to: string, subject: string) => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: from.ports.submissions,
      secure: true,
      tls: { ca: from.ca, servername: 'localhost' },
      auth: { user: 'sam@origin.test', pass: PASSWORD },
    });
    await transport.sendMail({ from: 'sam@origin.test', to, subject, text: 'x\n' });
    transport.close();
  };
  before(async () => {
    mx = await startTestServer({ domain: 'mx.test' });
    await mx.services.accounts.addUser({ address: 'pat@mx.test', password: PASSWORD });
    const queue = { routes: [`mx.test=127.0.0.1:${mx.ports.smtp}`], poll_interval: '200ms', retry_initial: '1s', connect_timeout: '5s' };
    // Each origin has its own local CA: the MX's certificate is not one it trusts.
    loose = await startTestServer({ domain: 'origin.test', overrides: { queue } });
    strict = await startTestServer({ domain: 'origin.test', overrides: { queue: { ...queue, verify_mx_tls: true } } });
    for (const s of [loose, strict]) await s.services.accounts.addUser({ address: 'sam@origin.test', password: PASSWORD });
  });
  after(async () => {
    await strict.close();
    await loose.close();
    await mx.close();
  });

  test('STARTTLS is used with a certificate nobody verified; with verify_mx_tls the message stays queued', async () => {
    await submit(loose, 'pat@mx.test', 'opportunistic');
    const msg = await until(
      async () => (await inboxOf(mx, 'pat@mx.test')).find((m) => m.includes('Subject: opportunistic')),
      'delivery over opportunistic TLS',
    );
    // the receiving MX put its Authentication-Results (RFC 8601) above its Received field
    assert.match(
      msg,
      /^Authentication-Results: localhost;[^\r\n]*(\r\n [^\r\n]*)*\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby localhost with ESMTPS \(using TLSv1\.3/,
    );

    await submit(strict, 'pat@mx.test', 'verified only');
    const row = await until(async () => {
      const q = await strict.services.db.kysely
        .selectFrom('queue_recipients')
        .selectAll()
        .where('recipient', '=', 'pat@mx.test')
        .executeTakeFirst();
      return q?.last_error ? q : undefined;
    }, 'a failed verified attempt');
    assert.equal(row.status, 'queued');
    assert.match(row.last_error ?? '', /certificate|self[- ]signed|issuer/i);
    assert.ok(!(await inboxOf(mx, 'pat@mx.test')).some((m) => m.includes('Subject: verified only')));
  });
});
