import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { envKeys } from '../../../src/config/load.ts';

it('docs/configuration.md documents every config key', () => {
  const doc = readFileSync(path.resolve(import.meta.dirname, '../../../docs/configuration.md'), 'utf8');
  const missing = [...envKeys().values()].map((k) => k.path.join('.')).filter((key) => !doc.includes(`\`${key}\``));
  assert.deepEqual(missing, [], 'add these keys to docs/configuration.md');
});
