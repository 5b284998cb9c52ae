import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeSlice } from '../../../src/core/time-slice.ts';

describe('TimeSlice', () => {
  it('is due once its milliseconds have passed, and a turn starts a new slice', async () => {
    let now = 1000;
    const slice = new TimeSlice(10, () => now);
    assert.equal(slice.due(), false);
    now += 9;
    assert.equal(slice.due(), false);
    now += 1;
    assert.equal(slice.due(), true);
    await slice.turn();
    assert.equal(slice.due(), false, 'the slice restarts after the turn');
    now += 25;
    assert.equal(slice.due(), true);
  });

  it('lets other work run during its turn', async () => {
    const slice = new TimeSlice(0);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await slice.turn();
    assert.equal(ran, true);
  });
});
