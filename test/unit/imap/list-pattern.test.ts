// LIST/LSUB patterns (RFC 9051 §6.3.9) match in time linear in the name: the pattern that froze
// the server through a backtracking regular expression, a step count bounded by n × words, and a
// seeded comparison against a plain memoised matcher.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileListPattern, type StepMeter } from '../../../src/protocols/imap/list-pattern.ts';
import { prng } from '../../helpers/prng.ts';

/** The definition, memoised: `*` any run, `%` any run without `/`. O(n·m), for checking only. */
function reference(pattern: string, name: string): boolean {
  const p = [...pattern];
  const s = [...name];
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (s.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === p.length) r = j === s.length;
    else if (p[i] === '*') r = go(i + 1, j) || (j < s.length && go(i, j + 1));
    else if (p[i] === '%') r = go(i + 1, j) || (j < s.length && s[j] !== '/' && go(i, j + 1));
    else r = j < s.length && p[i] === s[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

describe('LIST patterns', () => {
  it('* crosses the delimiter, % does not; INBOX matches case-insensitively', () => {
    const names = ['INBOX', 'INBOX/Lists', 'Archive', 'Archive/2025', 'Archive/2025/Q1', 'Sent'];
    const run = (ref: string, pat: string) => names.filter((n) => compileListPattern(ref, pat).matches(n));
    assert.deepEqual(run('', '*'), names);
    assert.deepEqual(run('', '%'), ['INBOX', 'Archive', 'Sent']);
    assert.deepEqual(run('', 'Archive/%'), ['Archive/2025']);
    assert.deepEqual(run('Archive/', '*'), ['Archive/2025', 'Archive/2025/Q1']);
    assert.deepEqual(run('', 'inbox'), ['INBOX']);
    assert.deepEqual(run('', 'inbox/*'), ['INBOX/Lists']);
    assert.deepEqual(run('', 'A.chive'), []);
    assert.deepEqual(run('', '%/%'), ['INBOX/Lists', 'Archive/2025']);
    assert.deepEqual(run('', '*5'), ['Archive/2025']);
    assert.equal(compileListPattern('', 'Entwürfe/%').matches('Entwürfe/2026'), true);
    assert.equal(compileListPattern('', '%%*%').source, '*');
  });

  it('the pattern that froze the server answers a 30-character name within n × words steps', () => {
    const name = 'abcdefghijklmnopqrstuvwxyz0123';
    const pattern = compileListPattern('', '*%*%*%*%*%*%z');
    const meter: StepMeter = { steps: 0 };
    assert.equal(pattern.matches(name, meter), false);
    // 13 pattern positions fit one 32-bit word: one step per character (plus the start).
    assert.ok(meter.steps <= name.length + 1, `${meter.steps} steps`);
    assert.equal(pattern.matches(`${name}z`), true);
  });

  it('work grows linearly with the name for the worst patterns', () => {
    const pattern = compileListPattern('', `${'*a%'.repeat(300)}b`);
    const small: StepMeter = { steps: 0 };
    const large: StepMeter = { steps: 0 };
    pattern.matches('a'.repeat(100), small);
    pattern.matches('a'.repeat(1000), large);
    const words = Math.ceil((pattern.source.length + 1) / 32);
    assert.ok(large.steps <= 1001 * words, `${large.steps} steps for 1000 characters`);
    assert.ok(large.steps <= 10 * small.steps + words, 'ten times the name, at most ten times the steps');
  });

  it(`agrees with the definition on seeded random patterns and names`, () => {
    const rnd = prng(6154);
    const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    for (let round = 0; round < 3000; round++) {
      const pattern = pick('ab/*%ü', Math.floor(rnd() * 12));
      const name = pick('ab/ü', Math.floor(rnd() * 14));
      assert.equal(compileListPattern('', pattern).matches(name), reference(pattern, name), `${pattern} vs ${name}`);
    }
    // Patterns longer than one 32-bit word.
    for (let round = 0; round < 300; round++) {
      const pattern = pick('ab/*%', 40 + Math.floor(rnd() * 60));
      const name = pick('ab/', Math.floor(rnd() * 80));
      assert.equal(compileListPattern('', pattern).matches(name), reference(pattern, name), `${pattern} vs ${name}`);
    }
  });
});
