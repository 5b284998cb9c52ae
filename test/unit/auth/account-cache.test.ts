// Token sign-ins' account lookups (src/auth/account-cache.ts): kept at most the TTL, forgotten at
// once when the account changes, misses never kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccountCache } from '../../../src/auth/account-cache.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';

const alice = (disabled: boolean): DirectoryAccount => ({
  id: 7,
  address: 'alice@example.test',
  localPart: 'alice',
  domain: 'example.test',
  domainId: 1,
  displayName: 'Alice',
  disabled,
  isAdmin: false,
  passwordHash: null,
  credentialsChangedAt: 0,
  createdAt: 0,
});

describe('AccountCache', () => {
  it('serves a hit within the TTL, asks again after it, and forgets an account at once', async () => {
    let now = 1_000;
    let stored: DirectoryAccount | undefined = alice(false);
    let reads = 0;
    const cache = new AccountCache(
      {
        findByAddress: async () => {
          reads++;
          return stored;
        },
      },
      1_000,
      () => now,
    );
    assert.equal((await cache.findByAddress('Alice@example.test'))?.disabled, false);
    stored = alice(true);
    now += 999;
    assert.equal((await cache.findByAddress('alice@example.test'))?.disabled, false);
    assert.equal(reads, 1);
    now += 1;
    assert.equal((await cache.findByAddress('alice@example.test'))?.disabled, true);
    assert.equal(reads, 2);
    stored = alice(false);
    cache.forget(7);
    assert.equal((await cache.findByAddress('alice@example.test'))?.disabled, false);
    stored = undefined;
    cache.forget(7);
    assert.equal(await cache.findByAddress('alice@example.test'), undefined);
    stored = alice(false);
    assert.equal((await cache.findByAddress('alice@example.test'))?.id, 7, 'a miss is not kept');
  });
});
