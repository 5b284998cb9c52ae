// The account lock that makes concurrent refreshes safe: mutual exclusion within and across
// processes, stale locks of dead owners broken, live owners waited for.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockTimeout, withLock } from '../../../src/client/store/lock.ts';
import { type Home, tempHome } from './fixture.ts';

const LOCK_MODULE = path.resolve(import.meta.dirname, '../../../src/client/store/lock.ts');

describe('account lock', () => {
  let home: Home;
  before(async () => {
    home = await tempHome();
  });
  after(() => home.close());

  it('lets one holder in at a time within a process', async () => {
    const lock = path.join(home.dir, 'a.lock');
    let active = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(lock, async () => {
          active++;
          most = Math.max(most, active);
          await new Promise((r) => setImmediate(r));
          active--;
        }),
      ),
    );
    assert.equal(most, 1);
  });

  it('serialises read-modify-write cycles of several processes (no lost update)', async () => {
    const lock = path.join(home.dir, 'counter.lock');
    const counter = path.join(home.dir, 'counter');
    await writeFile(counter, '0');
    const script = `
      import { readFile, writeFile } from 'node:fs/promises';
      import { withLock } from ${JSON.stringify(LOCK_MODULE)};
      for (let i = 0; i < 15; i++) {
        await withLock(${JSON.stringify(lock)}, async () => {
          const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
          await new Promise((r) => setImmediate(r));
          await writeFile(${JSON.stringify(counter)}, String(n + 1));
        });
      }`;
    const codes = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<number | null>((resolve) => {
            const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
            c.on('close', resolve);
          }),
      ),
    );
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    assert.equal(await readFile(counter, 'utf8'), '75');
  });

  it('breaks the lock of an owner that is gone', async () => {
    const lock = path.join(home.dir, 'stale.lock');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(lock, JSON.stringify({ pid: dead, host: os.hostname(), nonce: 'x', at: Date.now() }));
    assert.equal(await withLock(lock, async () => 'got it', { waitMs: 5_000 }), 'got it');
  });

  it('waits for a live owner and gives up with LockTimeout', async () => {
    const lock = path.join(home.dir, 'live.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), nonce: 'y', at: Date.now() }));
    await assert.rejects(
      withLock(lock, async () => 'never', { waitMs: 300 }),
      (err) => err instanceof LockTimeout,
    );
    assert.match(await readFile(lock, 'utf8'), /"nonce":"y"/, 'the live lock is left alone');
  });
});
