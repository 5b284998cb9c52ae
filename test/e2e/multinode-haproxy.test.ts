// Three `fingerpost serve` processes on one PostgreSQL (blobs in it too: store.blobs = "database"),
// each with its own data directory and ports, the same certificate and the same public URL, behind
// one HAProxy (Debian's, started by the test with its own haproxy.cfg, docs/operations.md):
// IMAPS, submission and SMTP in TCP mode with PROXY v2 (`send-proxy-v2`); HTTPS in HTTP mode —
// HAProxy terminates TLS with the shared certificate and re-encrypts to each node with PROXY v2,
// so JMAP EventSource and the provider's endpoints are balanced per request (HTTP mode works: it
// streams the EventSource). One health check per node, the IMAP greeting on its STARTTLS port
// behind a PROXY header every 200 ms (one failure marks it down), tracked by every server line:
// a TLS handshake per check does not fit in the 200 ms HAProxy gives a check to connect here.
// Real clients only: nodemailer (SMTP), imapflow (IMAP, IDLE, APPEND), node:https (EventSource).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { decodeJwt } from 'jose';
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

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The body of an RFC 5322 message: what no server may change (it may add header fields). */
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);

/** `promise`, or a rejection naming `what` after `ms` (a stuck peer fails the test instead of hanging it). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Waits until `test()` holds, polling; fails naming `what` (and `detail()`, the state then) after `ms`. */
async function until(test: () => boolean, ms: number, what: string, detail?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms${detail ? ` (${detail()})` : ''}`);
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
      assert.ok(Array.isArray(found));
      assert.equal(found.length, 1);
    } finally {
      stream.close();
      await idle.logout().catch(() => {});
    }
  });

  it('a token revoked on node 3 ends the IMAP sessions that used it on nodes 1 and 2', async () => {
    const [p1, p2] = cluster.fronts.pinned as [Pinned, Pinned];
    const issued = await runCli(
      ['admin', 'token', 'issue', USER, '--resource', 'imap://localhost', '--ttl', '10m', '--data', cluster.nodes[0]!.dataDir],
      {
        env: cluster.cliEnv,
      },
    );
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim().split('\n').at(-1)!;
    const sessions = [imap(p1.imaps, { user: USER, accessToken: token }), imap(p2.imaps, { user: USER, accessToken: token })];
    const bystander = imap(p1.imaps);
    try {
      await Promise.all([...sessions, bystander].map((c) => c.connect()));
      const ended = sessions.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())));
      // The CLI on node 3's data directory (its fingerpost.toml names the shared database).
      const revoked = await runCli(['admin', 'token', 'revoke', '--data', cluster.nodes[2]!.dataDir, '--', String(decodeJwt(token).jti)], {
        env: cluster.cliEnv,
      });
      assert.equal(revoked.code, 0, revoked.stderr);
      await within(Promise.all(ended), 20_000, 'the sessions of the revoked token closing on nodes 1 and 2');
      await bystander.noop();
      assert.ok(bystander.usable, 'a password session on node 1 stays');
      const again = imap(p2.imaps, { user: USER, accessToken: token });
      await assert.rejects(again.connect(), 'the revoked token is refused on node 2');
      again.close();
    } finally {
      for (const c of [...sessions, bystander]) c.close();
    }
  });

  it('`kill -9` of node 2 under SMTP and IMAP APPEND load through HAProxy loses no acknowledged message', async (t) => {
    const setup = imap(cluster.fronts.imaps);
    await setup.connect();
    await setup.mailboxCreate('Load');
    await setup.logout();
    const load = new Load(cluster, imap);
    const running = load.run(3);
    try {
      await until(() => load.everyWorkerAcked(3), 90_000, 'every client acknowledged three operations');
      const victim = cluster.nodes[1]!;
      const exited = new Promise((r) => victim.proc!.child.once('exit', r));
      victim.proc!.child.kill('SIGKILL');
      await exited;
      const before = load.ackedPerWorker();
      await until(
        () => load.everyWorkerAcked(3, before),
        120_000,
        'every client acknowledged three more after the kill',
        () => load.report(),
      );
    } finally {
      load.stop();
      await running;
    }
    assert.ok(load.imapReconnects >= 1, 'the IMAP client on node 2 reconnected through HAProxy');
    const stored = await storedHashes(imap(cluster.fronts.imaps));
    const missing = load.acked.filter((a) => !stored.get(a.mailbox)?.get(a.id)?.includes(a.hash));
    assert.deepEqual(missing, [], `${load.acked.length} acknowledged, ${missing.length} missing or changed`);
    t.diagnostic(
      `${load.acked.length} acknowledged and stored; ${load.failures.length} unanswered or refused; ${load.imapReconnects} IMAP reconnects`,
    );
    // Node 2 comes back for the tests after this one.
    await cluster.start(1);
    await cluster.waitHealthy(['n2']);
  });

  // Three drains and restarts, each waiting for every client to go on: longer than the suite's
  // default per-test limit on a busy machine, so it has its own.
  it('a rolling restart of all three nodes under SMTP, APPEND and FETCH load: each drains and exits 0, nothing acknowledged is lost', {
    timeout: 480_000,
  }, async (t) => {
    const load = new Load(cluster, imap);
    const running = load.run(3);
    const exits: Array<number | null> = [];
    try {
      await until(
        () => load.everyWorkerAcked(2),
        90_000,
        'every client acknowledged two operations',
        () => load.report(),
      );
      for (const [i, node] of cluster.nodes.entries()) {
        // SIGTERM: the node stops accepting (HAProxy's check marks it down, a refused connection is
        // redispatched), lets commands in flight finish, says BYE / 421 and exits.
        exits.push(await node.proc!.stop('SIGTERM', 60_000));
        const down = load.ackedPerWorker();
        await until(
          () => load.everyWorkerAcked(1, down),
          120_000,
          `every client went on while ${node.name} was down`,
          () => load.report(),
        );
        await cluster.start(i);
        await cluster.waitHealthy([node.name]);
      }
      const back = load.ackedPerWorker();
      await until(
        () => load.everyWorkerAcked(2, back),
        120_000,
        'every client acknowledged two more after the restarts',
        () => load.report(),
      );
    } finally {
      load.stop();
      await running;
    }
    assert.deepEqual(exits, [0, 0, 0], 'each node drained and exited 0');
    const stored = await storedHashes(imap(cluster.fronts.imaps));
    const missing = load.acked.filter((a) => !stored.get(a.mailbox)?.get(a.id)?.includes(a.hash));
    assert.deepEqual(missing, [], `${load.acked.length} acknowledged, ${missing.length} missing or changed`);
    assert.deepEqual(load.mismatched, [], 'every FETCH after an APPEND returned the appended message');
    assert.ok(load.fetched > 0, 'FETCHes ran');
    t.diagnostic(
      `${load.acked.length} acknowledged and stored, ${load.fetched} fetched back; ${load.failures.length} attempts retried ` +
        `(${load.failures.slice(0, 5).join(' | ')}); ${load.imapReconnects} IMAP reconnects`,
    );
  });
});

interface Acked {
  readonly id: string;
  readonly mailbox: 'INBOX' | 'Load';
  /** SHA-256 of the body (SMTP: servers add trace fields) or of the whole message (APPEND). */
  readonly hash: string;
}

/**
 * Clients that keep sending through HAProxy's shared fronts until stopped: nodemailer over
 * submissions (pooled: one connection kept per client) and imapflow APPENDs to `Load`, each
 * FETCHed back by its UID. An
 * acknowledged operation (250, or a tagged OK with APPENDUID) is recorded; any other outcome is
 * counted, and a client whose connection failed opens a new one (through HAProxy again).
 */
class Load {
  readonly acked: Acked[] = [];
  readonly failures: string[] = [];
  /** APPENDed messages whose FETCH by UID returned other bytes. */
  readonly mismatched: string[] = [];
  fetched = 0;
  imapReconnects = 0;
  #stopped = false;
  #perWorker = new Map<string, number>();
  /** What each client is doing now and since when: names the stuck one when a wait fails. */
  #phase = new Map<string, { what: string; since: number }>();
  readonly #cluster: HaproxyCluster;
  readonly #imap: (port: number) => ImapFlow;

  constructor(cluster: HaproxyCluster, imap: (port: number) => ImapFlow) {
    this.#cluster = cluster;
    this.#imap = imap;
  }

  run(workers: number): Promise<void> {
    const all: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) all.push(this.#smtp(`s${w}`), this.#append(`a${w}`));
    return Promise.all(all).then(() => {});
  }

  stop(): void {
    this.#stopped = true;
  }

  ackedPerWorker(): Map<string, number> {
    return new Map(this.#perWorker);
  }

  /** Each client's count, what it is doing and for how long, and the last failures. */
  report(): string {
    const now = Date.now();
    const workers = [...this.#perWorker].map(([w, n]) => {
      const p = this.#phase.get(w);
      return `${w}: ${n} acked, ${p ? `${p.what} for ${now - p.since} ms` : 'idle'}`;
    });
    return `${workers.join('; ')}; last failures: ${this.failures.slice(-6).join(' | ') || 'none'}`;
  }

  #at(worker: string, what: string): void {
    this.#phase.set(worker, { what, since: Date.now() });
  }

  everyWorkerAcked(n: number, since = new Map<string, number>()): boolean {
    return this.#perWorker.size > 0 && [...this.#perWorker].every(([w, count]) => count - (since.get(w) ?? 0) >= n);
  }

  #ack(worker: string, a: Acked): void {
    this.acked.push(a);
    this.#perWorker.set(worker, (this.#perWorker.get(worker) ?? 0) + 1);
  }

  async #smtp(worker: string): Promise<void> {
    this.#perWorker.set(worker, 0);
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 1,
      host: 'localhost',
      port: this.#cluster.fronts.submissions,
      secure: true,
      tls: { ca: this.#cluster.ca },
      auth: { user: USER, pass: PASSWORD },
    });
    try {
      for (let i = 0; !this.#stopped; i++) {
        const id = `${worker}-${i}-${randomBytes(4).toString('hex')}`;
        const raw = message(id, randomBytes(1500).toString('base64'));
        try {
          this.#at(worker, `sending ${id}`);
          const sent = await transport.sendMail({ envelope: { from: USER, to: [USER] }, raw });
          if (/^250/.test(sent.response)) this.#ack(worker, { id, mailbox: 'INBOX', hash: sha256(bodyOf(raw)) });
          else this.failures.push(`${worker}: ${sent.response}`);
        } catch (err) {
          this.failures.push(`${worker}: ${(err as Error).message}`);
          this.#at(worker, 'pausing after a failure');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      transport.close();
    }
  }

  async #append(worker: string): Promise<void> {
    this.#perWorker.set(worker, 0);
    let client: ImapFlow | undefined;
    try {
      for (let i = 0; !this.#stopped; i++) {
        const id = `${worker}-${i}-${randomBytes(4).toString('hex')}`;
        const raw = message(id, randomBytes(1500).toString('base64'));
        try {
          if (!client?.usable) {
            if (client) this.imapReconnects++;
            client?.close();
            client = this.#imap(this.#cluster.fronts.imaps);
            client.on('error', () => {});
            this.#at(worker, 'connecting');
            await client.connect();
          }
          this.#at(worker, `appending ${id}`);
          const done = await client.append('Load', raw);
          if (done && (done.uid ?? 0) > 0) this.#ack(worker, { id, mailbox: 'Load', hash: sha256(raw) });
          else {
            this.failures.push(`${worker}: APPEND without APPENDUID`);
            continue;
          }
          // Read back what was just stored, as a client syncing its own copy does.
          this.#at(worker, `selecting Load for ${id}`);
          const lock = await client.getMailboxLock('Load');
          try {
            this.#at(worker, `fetching ${id}`);
            const got = await client.fetchOne(String(done.uid), { source: true }, { uid: true });
            if (got && got.source !== undefined && sha256(got.source) === sha256(raw)) this.fetched++;
            else if (client.usable) this.mismatched.push(id);
            else this.failures.push(`${worker}: connection closed before the FETCH of ${id}`);
          } finally {
            lock.release();
          }
        } catch (err) {
          this.failures.push(`${worker}: ${(err as Error).message}`);
          this.#at(worker, 'pausing after a failure');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await client?.logout().catch(() => client?.close());
    }
  }
}

/** Every message of INBOX and Load by Message-ID: the SHA-256 of its body (INBOX) or whole source (Load). */
async function storedHashes(client: ImapFlow): Promise<Map<string, Map<string, string[]>>> {
  await client.connect();
  const out = new Map<string, Map<string, string[]>>();
  try {
    for (const mailbox of ['INBOX', 'Load'] as const) {
      const byId = new Map<string, string[]>();
      const lock = await client.getMailboxLock(mailbox);
      try {
        for await (const m of client.fetch('1:*', { source: true, envelope: true })) {
          const id = (m.envelope?.messageId ?? '').replace(/^<|@load\.example\.test>$/g, '');
          const hash = sha256(mailbox === 'INBOX' ? bodyOf(m.source!) : m.source!);
          byId.set(id, [...(byId.get(id) ?? []), hash]);
        }
      } finally {
        lock.release();
      }
      out.set(mailbox, byId);
    }
  } finally {
    await client.logout();
  }
  return out;
}
