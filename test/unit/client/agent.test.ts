// The token agent (src/client/agent/): a unix socket closed to other users, keys held for a
// bounded time (fake clock), forgotten and stopped on request; and the age token store through a
// real agent process: the passphrase is asked once, later stores (as later `fingerpost token`
// processes) open and reseal the file without asking.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentStatus, agentStop } from '../../../src/client/agent/client.ts';
import { startAgent } from '../../../src/client/agent/server.ts';
import { agentSocketPath, agentTtlSeconds, ensurePrivateDir } from '../../../src/client/agent/socket-path.ts';
import { deriveKey } from '../../../src/client/store/age-scrypt.ts';
import { accountPaths, clientPaths } from '../../../src/client/store/paths.ts';
import { offerTokenToAgent, tokenFromAgent } from '../../../src/client/agent/token-cache.ts';
import { TokenStore } from '../../../src/client/store/token-store.ts';
import { account } from './fixture.ts';

const SALT = Buffer.alloc(16, 7);

describe('token agent', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-agent-'));
    env = { PATH: process.env.PATH, HOME: dir, XDG_RUNTIME_DIR: path.join(dir, 'run'), FINGERPOST_AGENT_TTL: '600' };
    await mkdir(env.XDG_RUNTIME_DIR!, { mode: 0o700 });
  });
  after(async () => {
    await agentStop(env);
    await rm(dir, { recursive: true, force: true });
  });

  it('holds a key for its time on a 0600 socket, forgets it after, and stops when it holds nothing', async () => {
    let now = 1_000_000;
    let stopped = false;
    let onStop = () => {};
    const stoppedNow = new Promise<void>((resolve) => (onStop = resolve));
    const runtime = path.join(dir, 'own');
    const socket = agentSocketPath({ XDG_RUNTIME_DIR: runtime });
    assert.equal(socket, path.join(runtime, 'fingerpost', 'agent.sock'));
    const stop = await startAgent(socket, {
      now: () => now,
      onStop: () => {
        stopped = true;
        onStop();
      },
    });
    try {
      assert.equal((await stat(socket)).mode & 0o777, 0o600);
      assert.equal((await stat(path.dirname(socket))).mode & 0o777, 0o700);
      const key = await deriveKey('pw', SALT, 10);
      const direct = await talk(socket);
      assert.deepEqual(await direct({ op: 'key', account: 'a', salt: SALT.toString('base64'), logN: 10 }), { locked: true });
      assert.deepEqual(await direct({ op: 'unlock', account: 'a', passphrase: 'pw', ttl: 60 }), { ok: true });
      assert.deepEqual(await direct({ op: 'key', account: 'a', salt: SALT.toString('base64'), logN: 10 }), { key: key.toString('base64') });
      // A key the agent never saw is derived from the passphrase it holds.
      const other = Buffer.alloc(16, 9);
      assert.equal(
        (await direct({ op: 'key', account: 'a', salt: other.toString('base64'), logN: 10 })).key,
        (await deriveKey('pw', other, 10)).toString('base64'),
      );
      const status = (await direct({ op: 'status' })) as { accounts: { account: string; expiresIn: number }[] };
      assert.deepEqual(status.accounts, [{ account: 'a', expiresIn: 60 }]);
      assert.doesNotMatch(JSON.stringify(status), /pw/, 'status never shows a passphrase');
      assert.deepEqual(await direct({ op: 'bogus' }), { error: 'unknown operation' });
      now += 61_000;
      assert.deepEqual(await direct({ op: 'key', account: 'a', salt: SALT.toString('base64'), logN: 10 }), { locked: true });
      assert.equal(stopped, false);
      assert.deepEqual(await direct({ op: 'unlock', account: 'b', passphrase: 'pw', ttl: 60 }), { ok: true });
      assert.deepEqual(await direct({ op: 'forget' }), { ok: true });
      await stoppedNow;
      assert.equal(stopped, true, 'with nothing held the agent stops');
    } finally {
      await stop();
    }
  });

  it('refuses a socket directory other users can enter', async () => {
    const open = path.join(dir, 'open');
    await mkdir(open, { mode: 0o755 });
    await chmod(open, 0o755);
    assert.throws(() => ensurePrivateDir(path.join(open, 'agent.sock')), /open to other users/);
  });

  it('bounds FINGERPOST_AGENT_TTL', () => {
    assert.equal(agentTtlSeconds({}), 8 * 3600);
    assert.equal(agentTtlSeconds({ FINGERPOST_AGENT_TTL: '90' }), 90);
    assert.equal(agentTtlSeconds({ FINGERPOST_AGENT_TTL: '99999999' }), 7 * 24 * 3600);
    assert.equal(agentTtlSeconds({ FINGERPOST_AGENT_TTL: 'soon' }), 8 * 3600);
  });

  it('the age store asks for the passphrase once; later stores open and reseal through the agent', async () => {
    const storeEnv = { ...env, XDG_CONFIG_HOME: path.join(dir, 'config') };
    let asked = 0;
    const typed = new TokenStore({
      paths: clientPaths(storeEnv),
      env: storeEnv,
      prompt: async () => {
        asked++;
        return 'a typed passphrase';
      },
    });
    const a = account('alice@example.test', { kind: 'age', workFactor: 12, reason: 'test' });
    await typed.prepare(a);
    assert.equal(asked, 2, 'a new passphrase is asked twice');
    const saved = await typed.save(a, { refreshToken: 'rt', tokens: {} });
    const held = await agentStatus(storeEnv);
    assert.equal(held?.length, 1, 'the agent started and holds the account');
    assert.ok((held?.[0]?.expiresIn ?? 0) <= 600);

    const never = () => Promise.reject(new Error('the passphrase was asked again'));
    const later = new TokenStore({ paths: clientPaths(storeEnv), env: storeEnv, prompt: never });
    assert.equal((await later.openSecret(saved)).refreshToken, 'rt');
    const resealed = await later.save(saved, { refreshToken: 'rt2', tokens: {} });
    assert.notEqual(resealed.sealed, saved.sealed);
    const third = new TokenStore({ paths: clientPaths(storeEnv), env: storeEnv, prompt: never });
    assert.equal((await third.openSecret(resealed)).refreshToken, 'rt2');

    // With the agent stopped, the passphrase is asked again, and only then.
    assert.equal(await agentStop(storeEnv), true);
    await new Promise((r) => setTimeout(r, 100));
    const fourth = new TokenStore({
      paths: clientPaths(storeEnv),
      env: { ...storeEnv, FINGERPOST_AGENT: 'off' },
      prompt: async () => 'a typed passphrase',
    });
    assert.equal((await fourth.openSecret(resealed)).refreshToken, 'rt2');
    await assert.rejects(
      new TokenStore({ paths: clientPaths(storeEnv), env: { ...storeEnv, FINGERPOST_AGENT: 'off' }, prompt: never }).openSecret(resealed),
      /asked again/,
    );
  });
  it('keeps a printed access token for the account file version it came from, fresh by the default margin', async () => {
    let now = 5_000_000;
    const runtime = path.join(dir, 'tokens');
    const socket = agentSocketPath({ XDG_RUNTIME_DIR: runtime });
    const stop = await startAgent(socket, { now: () => now });
    try {
      const direct = await talk(socket);
      const put = {
        op: 'token-put',
        account: 'a',
        service: 'imap',
        stamp: 'v1',
        token: 'tok-1',
        expiresAt: now + 3_600_000,
        obtainedAt: now,
      };
      assert.deepEqual(await direct({ op: 'unlock', account: 'a', passphrase: 'pw', ttl: 7200 }), { ok: true });
      // A second account keeps the agent running after `a` is forgotten.
      assert.deepEqual(await direct({ op: 'unlock', account: 'keep', passphrase: 'pw', ttl: 7200 }), { ok: true });
      assert.deepEqual(await direct({ ...put, account: 'z' }), { locked: true }, 'only for an account it holds');
      assert.deepEqual(await direct({ ...put, token: 'two words' }), { error: 'bad request' });
      assert.deepEqual(await direct(put), { ok: true });
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'imap', stamp: 'v1' }), { token: 'tok-1' });
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'imap', stamp: 'v2' }), {}, 'the file changed');
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'smtp', stamp: 'v1' }), {}, 'another service');
      assert.deepEqual(await direct({ op: 'token', account: 'b', service: 'imap', stamp: 'v1' }), {});
      now += 3_600_000 - 5 * 60_000; // 5 minutes left: refresh time, the agent no longer answers
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'imap', stamp: 'v1' }), {});
      now -= 1_000;
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'imap', stamp: 'v1' }), { token: 'tok-1' });
      await direct({ op: 'forget', account: 'a' });
      assert.deepEqual(await direct({ op: 'token', account: 'a', service: 'imap', stamp: 'v1' }), {});
    } finally {
      await stop();
    }
  });

  it('token-cache: the agent answers only while the account file is unchanged', async () => {
    const runtime = path.join(dir, 'cache-run');
    const e: NodeJS.ProcessEnv = { HOME: dir, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: path.join(dir, 'cfg') };
    const stop = await startAgent(agentSocketPath(e));
    try {
      const file = accountPaths(clientPaths(e), 'alice@example.test').file;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, '{"v":1}');
      const direct = await talk(agentSocketPath(e));
      await direct({ op: 'unlock', account: file, passphrase: 'pw', ttl: 600 });
      assert.equal(await tokenFromAgent('alice@example.test', 'imap', e), undefined);
      await offerTokenToAgent(
        'alice@example.test',
        'imap',
        { token: 'tok-a', expiresAt: Date.now() + 3_600_000, obtainedAt: Date.now() },
        e,
      );
      assert.equal(await tokenFromAgent('alice@example.test', 'imap', e), 'tok-a');
      await writeFile(file, '{"v":2, "resealed": true}');
      assert.equal(await tokenFromAgent('alice@example.test', 'imap', e), undefined, 'a saved file is a new version');
      await offerTokenToAgent(
        'alice@example.test',
        'imap',
        { token: 'tok-b', expiresAt: Date.now() + 3_600_000, obtainedAt: Date.now() },
        e,
      );
      await rm(file);
      assert.equal(await tokenFromAgent('alice@example.test', 'imap', e), undefined, 'after logout nothing');
      assert.equal(await tokenFromAgent('alice@example.test', 'imap', { ...e, FINGERPOST_AGENT: 'off' }), undefined);
    } finally {
      await stop();
    }
  });
});

/** One request per connection, as the agent's clients do. */
async function talk(socket: string): Promise<(msg: Record<string, unknown>) => Promise<Record<string, unknown>>> {
  const net = await import('node:net');
  return (msg) =>
    new Promise((resolve, reject) => {
      const c = net.connect(socket);
      let buf = '';
      c.on('data', (d) => (buf += d));
      c.on('end', () => resolve(JSON.parse(buf) as Record<string, unknown>));
      c.on('error', reject);
      c.write(`${JSON.stringify(msg)}\n`);
    });
}
