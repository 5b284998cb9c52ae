// The strict I-JSON parser behind the JMAP API (RFC 7493, RFC 8620 §1.5, §3.6.1 notJSON).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DEPTH, parseIJson } from '../../../src/protocols/jmap/i-json.ts';
import { prng } from '../../helpers/prng.ts';

describe('I-JSON parser', () => {
  it('parses what JSON.parse parses, identically', () => {
    const samples = [
      '{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"a":1.5,"b":[true,false,null]},"c1"]]}',
      '  [1, -2, 3.25e2, 0, -0.5, 1E3] ',
      '"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r"',
      '"\\ud83d\\ude00 😀"',
      '{}',
      '[]',
      '{"":{"":""}}',
      '9007199254740991',
      '-9007199254740991',
      '1.7976931348623157e308',
    ];
    for (const s of samples) {
      const r = parseIJson(Buffer.from(s));
      assert.ok(r.ok, `${s}: ${!r.ok && r.error}`);
      assert.deepEqual(r.value, JSON.parse(s));
    }
  });

  it('keeps a member named __proto__ as a plain member', () => {
    const r = parseIJson('{"__proto__":{"polluted":true},"a":1}');
    assert.ok(r.ok);
    const v = r.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['__proto__', 'a']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  const refused: Array<[string, string | Uint8Array, RegExp]> = [
    ['duplicate member', '{"a":1,"a":2}', /duplicate member name "a"/],
    ['duplicate member after escapes', '{"a":1,"\\u0061":2}', /duplicate/],
    ['nested duplicate', '{"x":{"b":1,"b":1}}', /duplicate/],
    ['integer above 2^53-1', '9007199254740992', /2\^53/],
    ['integer below -(2^53-1)', '[-9007199254740992]', /2\^53/],
    ['overflowing double', '1e400', /out of range/],
    ['lone high surrogate escape', '"\\ud800"', /surrogate/],
    ['lone low surrogate escape', '"\\udc00x"', /surrogate/],
    ['noncharacter', '"\\uffff"', /noncharacter/],
    ['invalid UTF-8', new Uint8Array([0x22, 0xc3, 0x28, 0x22]), /UTF-8/],
    ['trailing comma', '[1,]', /unexpected/],
    ['single quotes', "{'a':1}", /member name/],
    ['control character', '"a\u0001"', /control/],
    ['bad escape', '"\\x41"', /escape/],
    ['leading zero', '01', /after the JSON value/],
    ['trailing data', '{} {}', /after the JSON value/],
    ['empty', '', /end of input/],
    ['NaN', 'NaN', /unexpected/],
    ['unterminated', '{"a":"b', /unterminated/],
  ];
  for (const [name, input, pattern] of refused) {
    it(`refuses ${name}`, () => {
      const r = parseIJson(typeof input === 'string' ? Buffer.from(input) : input);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, pattern);
    });
  }

  it(`refuses nesting deeper than ${MAX_DEPTH} without overflowing the stack`, () => {
    const deep = `${'['.repeat(MAX_DEPTH + 5)}${']'.repeat(MAX_DEPTH + 5)}`;
    const r = parseIJson(deep);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /nesting/);
    assert.ok(parseIJson(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`).ok);
    const hostile = parseIJson('['.repeat(1_000_000));
    assert.equal(hostile.ok, false);
  });
});

describe('I-JSON parser fuzz (bounded, seeded)', () => {
  const ALPHABET = [
    '{',
    '}',
    '[',
    ']',
    '"',
    ':',
    ',',
    '\\',
    'u',
    'd',
    '8',
    '0',
    '1',
    '-',
    '.',
    'e',
    'E',
    '+',
    ' ',
    '\n',
    'a',
    'true',
    'false',
    'null',
    '\u00e9',
    '\ud83d',
    '\u0000',
  ];

  it('never throws and agrees with JSON.parse on acceptance (5000 mutated requests)', () => {
    const rand = prng(0x6a6d6170);
    const seeds = [
      '{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Email/query",{"accountId":"A1","filter":{"inMailbox":"M1"},"limit":50},"q"]]}',
      '[{"a":[1,2,{"b":"c\\u0041"}]},-1.5e-3,"\\ud83d\\ude00"]',
    ];
    for (let i = 0; i < 5000; i++) {
      let s = seeds[i % seeds.length]!;
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (s.length + 1));
        const op = rand();
        const piece = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
        if (op < 0.4) s = s.slice(0, at) + piece + s.slice(at);
        else if (op < 0.8) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 3));
        else s = s.slice(0, at) + piece + s.slice(at + 1);
      }
      const bytes = Buffer.from(s);
      let ours: ReturnType<typeof parseIJson>;
      assert.doesNotThrow(
        () => {
          ours = parseIJson(bytes);
        },
        `input ${JSON.stringify(s)}`,
      );
      let native: unknown;
      let nativeOk = true;
      try {
        native = JSON.parse(bytes.toString('utf8'));
      } catch {
        nativeOk = false;
      }
      if (ours!.ok) {
        assert.ok(nativeOk, `accepted what JSON.parse refuses: ${JSON.stringify(s)}`);
        assert.deepEqual(ours!.value, native);
      }
    }
  });

  it('never throws on random bytes (2000 buffers)', () => {
    const rand = prng(42);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.alloc(Math.floor(rand() * 200));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      const r = parseIJson(bytes);
      if (!r.ok) assert.equal(typeof r.error, 'string');
    }
  });
});
