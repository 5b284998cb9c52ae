// `fingerpost serve --workers 2` on SQLite, as an admin runs it: two worker processes share the
// listeners (node:cluster) and the store (SQLite in WAL mode). Real clients (imapflow) and the
// real admin CLI: an IDLE served by one worker sees an APPEND made through the other, a token
// revoked from the CLI ends its sessions on both, a worker killed with SIGKILL costs only its
// own connections and is replaced, and SIGTERM drains both and exits 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { decodeJwt } from 'jose';
import { listStoredSessions } from '../../src/auth/session-store.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { commandSkip } from '../helpers/peers.ts';
import { type ServeProcess, spawnServe } from '../helpers/process.ts';
import { portEnv, portOverrides, runCli } from '../helpers/server.ts';

const exec = promisify(execFile);
const USER = 'wanda@example.test';
const PASSWORD = 'two workers test password';

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The worker processes: the children of the primary. */
async function workerPids(primary: number): Promise<number[]> {
  const { stdout } = await exec('ps', ['-o', 'pid=', '--ppid', String(primary)]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

describe('serve --workers 2 on SQLite', { skip: commandSkip('ps', 'procps', ['--version']), timeout: 900_000 }, () => {
  let dataDir: string;
  let proc: ServeProcess;
  let imaps = 0;
  let ca = '';
  let env: Record<string, string>;
  let db: Db | undefined;
  /** Workers killed by the test: their rows stay in the store until their heartbeat goes stale. */
  const deadNodes = new Set<string>();

  const imap = (auth: { user: string; pass?: string; accessToken?: string } = { user: USER, pass: PASSWORD }) =>
    new ImapFlow({ host: 'localhost', port: imaps, secure: true, tls: { ca }, auth, logger: false, maxIdleTime: 0 });

  /**
   * The node (worker) holding each live session of USER, from the session mirror in the store
   * (what `fingerpost admin session list` prints; read in-process here, a CLI start per probe is slow).
   */
  async function sessionNodes(): Promise<string[]> {
    db ??= await openDb({ url: '', sqlitePath: path.join(dataDir, 'fingerpost.db'), busyTimeoutMs: 5000 });
    return (await listStoredSessions(db)).filter((x) => x.address === USER && !deadNodes.has(x.node)).map((x) => x.node);
  }

  /** Waits until the store lists exactly `n` live sessions of USER; returns their nodes. */
  const sessionsAre = (n: number) =>
    until(
      async () => {
        const nodes = await sessionNodes();
        return nodes.length === n ? nodes : undefined;
      },
      30_000,
      `${n} sessions mirrored to the store`,
    );

  /**
   * Two clients held by different workers: with no other session of USER open, connect one, then
   * a second (and replace it while both land on the same worker) until the store names two nodes.
   */
  async function onTwoWorkers(auth?: { user: string; pass?: string; accessToken?: string }): Promise<[ImapFlow, ImapFlow]> {
    await sessionsAre(0);
    const first = imap(auth);
    first.on('error', () => {});
    await first.connect();
    await sessionsAre(1);
    // A replacement worker takes a while to start listening; until then the other takes every connection.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const second = imap(auth);
      second.on('error', () => {});
      await second.connect();
      if (new Set(await sessionsAre(2)).size === 2) return [first, second];
      await second.logout();
      await sessionsAre(1);
    }
    throw new Error('for three minutes every connection went to the same worker: connections are not shared round-robin');
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-workers-'));
    const { ports } = await portOverrides();
    imaps = ports.imaps;
    env = {
      ...portEnv(ports),
      FINGERPOST_MANAGESIEVE_ENABLED: 'false',
      FINGERPOST_LOG_LEVEL: 'warn',
    };
    proc = await spawnServe(['--data', dataDir, '--domain', 'example.test', '--workers', '2'], env, 240_000);
    assert.match(proc.stderr, /Workers: +2 processes/);
    ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const added = await runCli(['admin', 'user', 'add', USER, '--password-stdin', '--data', dataDir], { input: `${PASSWORD}\n`, env });
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    if (process.env.FINGERPOST_TEST_DUMP) await writeFile(process.env.FINGERPOST_TEST_DUMP, `${proc?.stdout}\n${proc?.stderr}`);
    await db?.close();
    await proc?.stop('SIGKILL');
    for (const pid of proc?.child.pid ? await workerPids(proc.child.pid) : []) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an IDLE on one worker hears of an APPEND made through the other', async () => {
    const [idler, writer] = await onTwoWorkers();
    try {
      // The admin CLI lists the sessions of both workers, each under its own node id.
      const listed = await runCli(['admin', 'session', 'list', '--json', '--account', USER, '--data', dataDir], { env });
      assert.equal(listed.code, 0, listed.stderr);
      const nodes = new Set(
        listed.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { node: string }).node),
      );
      assert.equal(nodes.size, 2, 'two workers hold the two sessions');
      const before = (await idler.mailboxOpen('INBOX')).exists;
      const exists = new Promise<number>((resolve) => idler.on('exists', (e: { count: number }) => resolve(e.count)));
      void idler.idle();
      await until(() => idler.idling || undefined, 10_000, 'IDLE');
      const appended = await writer.append('INBOX', Buffer.from(`From: ${USER}\r\nSubject: across\r\n\r\nfrom the other worker\r\n`));
      assert.ok(appended && (appended.uid ?? 0) > 0);
      const count = await Promise.race([
        exists,
        new Promise<never>((_, no) => setTimeout(() => no(new Error('no EXISTS in IDLE')), 15_000)),
      ]);
      assert.equal(count, before + 1, 'the other worker pushed EXISTS during IDLE');
    } finally {
      await Promise.all([idler.logout().catch(() => {}), writer.logout().catch(() => {})]);
    }
  });

  it('a token revoked from the admin CLI ends its sessions on both workers', async () => {
    const issued = await runCli(['admin', 'token', 'issue', USER, '--resource', 'imap://localhost', '--ttl', '10m', '--data', dataDir], {
      env,
    });
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim().split('\n').at(-1)!;
    const pair = await onTwoWorkers({ user: USER, accessToken: token });
    const ended = pair.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())));
    const revoked = await runCli(['admin', 'token', 'revoke', '--data', dataDir, '--', String(decodeJwt(token).jti)], { env });
    assert.equal(revoked.code, 0, revoked.stderr);
    await Promise.race([Promise.all(ended), new Promise<never>((_, no) => setTimeout(() => no(new Error('sessions stayed')), 20_000))]);
  });

  it('a worker killed with SIGKILL costs only its own connections; the primary starts another', async () => {
    const [a, b] = await onTwoWorkers();
    const primary = proc.child.pid!;
    const pids = await workerPids(primary);
    assert.equal(pids.length, 2);
    const closed = new Set<ImapFlow>();
    for (const c of [a, b]) c.once('close', () => closed.add(c));
    process.kill(pids[0]!, 'SIGKILL');
    await until(() => closed.size > 0 || undefined, 10_000, 'the killed worker’s connection closing');
    const survivor = [a, b].find((c) => !closed.has(c))!;
    assert.ok(survivor, 'the other worker’s connection stays open');
    await survivor.noop();
    assert.ok(survivor.usable);
    const replaced = await until(
      async () => {
        const now = await workerPids(primary);
        return now.length === 2 && !now.includes(pids[0]!) ? now : undefined;
      },
      60_000,
      'a replacement worker',
    );
    assert.equal(replaced.length, 2);
    assert.equal(proc.child.exitCode, null, 'the primary runs on');
    await survivor.logout();
    // The row left is the killed worker's (no heartbeat ends it for 90 s): leave it out from now on.
    deadNodes.add((await sessionsAre(1))[0]!);
    // Both workers serve again: connections land on each of them.
    const [c, d] = await onTwoWorkers();
    await Promise.all([c.logout(), d.logout()]);
  });

  it('SIGTERM drains both workers and the primary exits 0', async () => {
    const primary = proc.child.pid!;
    const pids = await workerPids(primary);
    assert.equal(await proc.stop('SIGTERM', 60_000), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'the worker is gone');
  });
});
