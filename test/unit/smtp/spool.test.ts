// The SMTP spool (bodies on disk while they arrive) and the delivery memory budget.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryBudget } from '../../../src/protocols/smtp/memory-budget.ts';
import { SpoolDir } from '../../../src/protocols/smtp/spool.ts';

describe('SMTP spool', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-spool-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps the bytes written and reads them back after a prefix, then removes the file', async () => {
    const spool = new SpoolDir(path.join(dir, 'a'));
    const file = await spool.create();
    await file.write(Buffer.from('Subject: one\r\n\r\n'));
    await file.write(Buffer.alloc(100_000, 0x78));
    assert.equal(file.size, 16 + 100_000);
    const read = await file.read(Buffer.from('Received: x\r\n'));
    assert.equal(read.length, 13 + 16 + 100_000);
    assert.equal(read.subarray(0, 29).toString(), 'Received: x\r\nSubject: one\r\n\r\n');
    assert.ok(read.subarray(29).every((b) => b === 0x78));
    await file.discard();
    await file.discard();
    assert.deepEqual(await readdir(spool.dir), []);
  });

  it('sweeps files a crashed run left behind, but not live ones', async () => {
    const spool = new SpoolDir(path.join(dir, 'b'));
    const live = await spool.create();
    await live.write(Buffer.from('live'));
    const stale = path.join(spool.dir, 'left-by-a-crash.msg');
    await writeFile(stale, 'never answered 250');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    assert.equal(await spool.sweep(), 1);
    assert.deepEqual(await readdir(spool.dir), [path.basename(live.path)]);
    await live.discard();
  });
});

describe('delivery memory budget', () => {
  it('lets bodies in while they fit, the next waits in order, and one larger than the budget goes alone', async () => {
    const budget = new MemoryBudget(100);
    const order: string[] = [];
    const waited: string[] = [];
    const take = (name: string, bytes: number) =>
      budget
        .take(bytes, () => waited.push(name))
        .then((release) => {
          order.push(name);
          return release;
        });
    const a = await take('a', 60);
    const b = await take('b', 40);
    const c = take('c', 30);
    const big = take('big', 500);
    const d = take('d', 10);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual(waited, ['c', 'big', 'd'], 'later ones queue behind the first that waits');
    a();
    const releaseC = await c;
    assert.deepEqual(order, ['a', 'b', 'c']);
    b();
    releaseC();
    const releaseBig = await big;
    assert.equal(budget.used, 500, 'alone, the oversized body gets in');
    releaseBig();
    (await d)();
    assert.equal(budget.used, 0);
  });
});
