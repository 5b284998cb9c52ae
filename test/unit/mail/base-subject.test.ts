// RFC 5256 §2.1 base subject extraction and the i;unicode-casemap collation (RFC 5051).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSubject } from '../../../src/mail/base-subject.ts';
import { casemapKey } from '../../../src/mail/collation.ts';

describe('base subject (RFC 5256 §2.1)', () => {
  const table: Array<[string, string, boolean]> = [
    ['Hello', 'Hello', false],
    ['Re: Hello', 'Hello', true],
    ['RE:  Re:   hello  world ', 'hello world', true],
    ['Fwd: Hello', 'Hello', true],
    ['fw: Hello', 'Hello', true],
    ['Re[2]: Hello', 'Hello', true],
    ['[list] Re: Hello', 'Hello', true],
    ['[list] [other] Hello', 'Hello', false],
    ['[just a blob]', '[just a blob]', false],
    ['[a][b]', '[b]', false],
    ['Hello (fwd)', 'Hello', true],
    ['Hello (FWD) (fwd)', 'Hello', true],
    ['[Fwd: Re: Hello]', 'Hello', true],
    ['[fwd: [fwd: Hello (fwd)]]', 'Hello', true],
    ['Re:', '', true],
    ['Rex: Hello', 'Rex: Hello', false],
    ['Re : Hello', 'Hello', true],
    ['\tRe:\r\n Hello\tthere', 'Hello there', true],
    ['', '', false],
  ];
  for (const [input, base, reply] of table) {
    it(JSON.stringify(input), () => assert.deepEqual(baseSubject(input), { base, replyOrForward: reply }));
  }

  it('takes hostile subjects in stride (a quadratic pass over 60,000 characters would not finish)', () => {
    assert.equal(baseSubject('[x]'.repeat(20_000)).base, '[x]');
    assert.equal(baseSubject(`${'re:'.repeat(20_000)}x`).base, 'x');
    assert.equal(baseSubject(`${'['.repeat(20_000)}x`).base, `${'['.repeat(20_000)}x`);
    assert.equal(baseSubject('(fwd)'.repeat(20_000)).base, '');
    assert.equal(baseSubject(`${'[fwd: '.repeat(5_000)}x${']'.repeat(5_000)}`).base, 'x');
  });
});

describe('i;unicode-casemap (RFC 5051)', () => {
  it('ignores case and compatibility forms', () => {
    assert.equal(casemapKey('hello'), casemapKey('HeLLo'));
    assert.equal(casemapKey('Ǆ'), casemapKey('ǆ'));
    assert.equal(casemapKey('ﬁle'), casemapKey('FILE'));
    assert.ok(casemapKey('apple') < casemapKey('Banana'));
  });
});
