import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomId } from '../../../src/core/ids.ts';

describe('randomId (batched CSPRNG bytes)', () => {
  it('gives 128-bit base64url identifiers with the prefix, none repeated across many pool refills', () => {
    const seen = new Set<string>();
    // 4 KiB of entropy serves 256 identifiers: this crosses 40 refills.
    for (let i = 0; i < 10_000; i++) {
      const id = randomId('s');
      assert.match(id, /^s[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(id.slice(1), 'base64url').length, 16);
      seen.add(id);
    }
    assert.equal(seen.size, 10_000);
  });
});
