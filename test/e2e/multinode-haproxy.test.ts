// Three `fingerpost serve` processes on one PostgreSQL (blobs in it too: store.blobs = "database"),
// each with its own data directory and ports, the same certificate and the same public URL, behind
// one HAProxy (Debian's, started by the test with its own haproxy.cfg, docs/operations.md):
// IMAPS, submission and SMTP in TCP mode with PROXY v2 (`send-proxy-v2`); HTTPS in HTTP mode —
// HAProxy terminates TLS with the shared certificate and re-encrypts to each node with PROXY v2,
// so JMAP EventSource and the provider's endpoints are balanced per request. Health checks are
// GET /healthz on every node, every 200 ms, one failure marks a node down.
// Real clients only: nodemailer (SMTP), imapflow (IMAP, IDLE, APPEND), node:https (EventSource).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { openEventStream } from '../helpers/event-stream.ts';
import { HaproxyCluster } from '../helpers/haproxy-cluster.ts';
import { commandSkip, pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { runCli } from '../helpers/server.ts';

const skip =
  peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start') ||
  commandSkip('haproxy', 'haproxy', ['-v']) ||
  commandSkip('openssl', 'openssl', ['version']);

const USER = 'nora@example.test';
const PASSWORD = 'multinode test password';
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const _sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The body of an RFC 5322 message: what no server may change (it may add header fields). */
const _bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);

/** `promise`, or a rejection naming `what` after `ms` (a stuck peer fails the test instead of hanging it). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Waits until `test()` holds, polling; fails naming `what` after `ms`. */
async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function message(id: string, text: string): Buffer {
  return Buffer.from(
    `From: ${USER}\r\nTo: ${USER}\r\nSubject: ${id}\r\nMessage-ID: <${id}@load.example.test>\r\nDate: ${new Date().toUTCString()}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`,
  );
}

type Pinned = HaproxyCluster['fronts']['pinned'][number];

describe('three nodes on one PostgreSQL behind HAProxy', { skip, timeout: 600_000 }, () => {
  const cluster = new HaproxyCluster();
  let drop = async () => {};

  const imap = (port: number, auth: { user: string; pass?: string; accessToken?: string } = { user: USER, pass: PASSWORD }) =>
    new ImapFlow({
      host: 'localhost',
      port,
      secure: true,
      tls: { ca: cluster.ca },
      auth,
      logger: false,
      // An IDLE is not broken up by NOOPs: the server's own EXISTS has to arrive.
      maxIdleTime: 0,
      connectionTimeout: 10_000,
    });

  before(async () => {
    const db = await tempPgDatabase();
    drop = db.drop;
    await cluster.setup(db.url);
    // One after the other: the first start creates the domain, the others find it.
    for (let i = 0; i < cluster.nodes.length; i++) await cluster.start(i);
    const added = await runCli(['admin', 'user', 'add', USER, '--password-stdin', '--data', cluster.nodes[0]!.dataDir], {
      input: `${PASSWORD}\n`,
      env: cluster.cliEnv,
    });
    assert.equal(added.code, 0, added.stderr);
    await cluster.startHaproxy();
  });

  after(async () => {
    await cluster.close();
    await drop();
  });

  it('mail submitted through node 1 reaches an IMAP IDLE on node 2 and a JMAP EventSource on node 3', async () => {
    const [p1, p2, p3] = cluster.fronts.pinned as [Pinned, Pinned, Pinned];
    const idle = imap(p2.imaps);
    await idle.connect();
    const stream = await openEventStream(`https://localhost:${p3.https}/jmap/eventsource?types=Email&closeafter=no&ping=0`, cluster.ca, {
      authorization: basic,
    });
    try {
      assert.equal(stream.status, 200);
      const before = (await idle.mailboxOpen('INBOX')).exists;
      const exists = new Promise<number>((resolve) => idle.on('exists', (e: { count: number }) => resolve(e.count)));
      // IDLE (RFC 2177) is running before the message is sent: the EXISTS is pushed, not polled.
      void idle.idle();
      await until(() => idle.idling, 10_000, 'imapflow entering IDLE');
      // Node 1 is reached through its own HAProxy front; its submission listener reads the PROXY header.
      const via = nodemailer.createTransport({
        host: 'localhost',
        port: p1.submissions,
        secure: true,
        tls: { ca: cluster.ca },
        auth: { user: USER, pass: PASSWORD },
      });
      const sent = await via.sendMail({ envelope: { from: USER, to: [USER] }, raw: message('idle-push', 'seen on every node') });
      via.close();
      assert.match(sent.response, /^250/);
      assert.equal(await within(exists, 15_000, 'EXISTS in IDLE on node 2'), before + 1, 'node 2 announced the new message in IDLE');
      await stream.waitFor(/event: state/, 15_000);
      const found = await idle.search({ header: { 'message-id': '<idle-push@load.example.test>' } });
      assert.ok(found && found.length === 1, 'the message is found by its Message-ID on node 2');
    } finally {
      stream.close();
      await idle.logout().catch(() => {});
    }
  });
});
