// The paced merge sort used by SORT and THREAD: same order as a stable sort, with event-loop turns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pace } from '../../../src/protocols/imap/pace.ts';
import { pacedSort } from '../../../src/mail/paced-sort.ts';
import { prng } from '../../helpers/prng.ts';

describe('paced merge sort', () => {
  it('sorts stably, like Array.prototype.sort, for sizes around the run length', async () => {
    const rnd = prng(5256);
    for (const n of [0, 1, 7, 2047, 2048, 2049, 5000, 20_000]) {
      const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(rnd() * 50), i }));
      const compare = (a: { key: number }, b: { key: number }) => a.key - b.key;
      const sorted = await pacedSort(items, compare, new Pace(1000));
      assert.deepEqual(sorted, items.slice().sort(compare), `n=${n}`);
    }
  });

  it('gives the event loop turns while it works', async () => {
    const pace = new Pace(10_000);
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    await pacedSort(
      Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 50_000),
      (a, b) => a - b,
      pace,
    );
    clearInterval(tick);
    assert.ok(pace.steps > 10_000);
    assert.ok(turns > 0, 'timers ran during the sort');
  });
});
