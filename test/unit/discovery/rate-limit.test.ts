import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PerIpLimiter } from '../../../src/discovery/rate-limit.ts';

it('allows the burst, then refills at the per-minute rate, per IP', () => {
  let now = 0;
  const limiter = new PerIpLimiter({ perMinute: 3, now: () => now });
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
  assert.equal(limiter.take('a'), 20_000, 'one token per 20 s');
  assert.equal(limiter.take('b'), 0, 'another address has its own bucket');
  now += 20_000;
  assert.equal(limiter.take('a'), 0);
  assert.ok(limiter.take('a') > 0);
});

it('never remembers more than maxClients addresses', () => {
  const limiter = new PerIpLimiter({ perMinute: 1, maxClients: 10, now: () => 0 });
  for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
  // the first address was forgotten, so it gets a fresh bucket
  assert.equal(limiter.take('10.0.0.0'), 0);
});
