// The JMAP request envelope (RFC 8620 §3.3, §3.6.1), result references (§3.7), PatchObjects (§5.3),
// dates (§1.4) and ids (§1.2): table tests and a bounded fuzz run of the request parser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitsFrom } from '../../../src/protocols/jmap/capabilities.ts';
import { parseDate, utcDate } from '../../../src/protocols/jmap/dates.ts';
import { MethodError, SetErrorException } from '../../../src/protocols/jmap/errors.ts';
import { fromId, parseBlobId, toBlobId, toId } from '../../../src/protocols/jmap/ids.ts';
import { applyPatch } from '../../../src/protocols/jmap/patch.ts';
import { parseRequest } from '../../../src/protocols/jmap/request.ts';
import { evaluatePointer, resolveReferences } from '../../../src/protocols/jmap/result-reference.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { prng } from '../../helpers/prng.ts';

const limits = limitsFrom(loadConfig({ dataDir: '/tmp/unused', env: {} }));
const JSON_TYPE = 'application/json';
const body = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('request envelope', () => {
  it('accepts a well-formed request', () => {
    const r = parseRequest(
      body({ using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', {}, 'a']], createdIds: { k1: 'E1' } }),
      JSON_TYPE,
      limits,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.request.createdIds, { k1: 'E1' });
  });

  const problems: Array<[string, Buffer, string | undefined, string, string?]> = [
    ['wrong content type', body({ using: [], methodCalls: [] }), 'text/plain', 'notJSON'],
    ['no content type', body({ using: [], methodCalls: [] }), undefined, 'notJSON'],
    ['a charset other than UTF-8', body({ using: [], methodCalls: [] }), 'application/json; charset=latin1', 'notJSON'],
    ['malformed JSON', Buffer.from('{"using":'), JSON_TYPE, 'notJSON'],
    ['duplicate keys', Buffer.from('{"using":[],"methodCalls":[],"using":[]}'), JSON_TYPE, 'notJSON'],
    ['an array', body([]), JSON_TYPE, 'notRequest'],
    ['using not an array', body({ using: 'x', methodCalls: [] }), JSON_TYPE, 'notRequest'],
    ['an invocation of two items', body({ using: [], methodCalls: [['Core/echo', {}]] }), JSON_TYPE, 'notRequest'],
    ['arguments not an object', body({ using: [], methodCalls: [['Core/echo', [], 'a']] }), JSON_TYPE, 'notRequest'],
    ['createdIds with a bad id', body({ using: [], methodCalls: [], createdIds: { a: 'bad id' } }), JSON_TYPE, 'notRequest'],
    ['an unknown capability', body({ using: ['urn:example:nope'], methodCalls: [] }), JSON_TYPE, 'unknownCapability'],
    [
      'too many calls',
      body({ using: [], methodCalls: Array.from({ length: 17 }, (_, i) => ['Core/echo', {}, `c${i}`]) }),
      JSON_TYPE,
      'limit',
      'maxCallsInRequest',
    ],
    ['a body over maxSizeRequest', Buffer.alloc(limits.maxSizeRequest + 1, 0x20), JSON_TYPE, 'limit', 'maxSizeRequest'],
  ];
  for (const [name, input, type, problem, limit] of problems) {
    it(`answers ${problem} for ${name}`, () => {
      const r = parseRequest(input, type, limits);
      assert.equal(r.ok, false);
      assert.equal((r as { problem: { type: string } }).problem.type, `urn:ietf:params:jmap:error:${problem}`);
      if (limit) assert.equal((r as { problem: { limit?: string } }).problem.limit, limit);
    });
  }
});

describe('result references', () => {
  const responses: Array<[string, Record<string, never>, string]> = [
    ['Email/query', { ids: ['E1', 'E2'] } as never, 'q'],
    [
      'Email/get',
      {
        list: [
          { threadId: 'T1', mailboxIds: ['M1'] },
          { threadId: 'T2', mailboxIds: ['M1', 'M2'] },
        ],
      } as never,
      'g',
    ],
  ];

  it('resolves /ids and the * wildcard with flattening (RFC 8620 §3.7)', () => {
    assert.deepEqual(resolveReferences({ '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' } }, responses), { ids: ['E1', 'E2'] });
    assert.deepEqual(evaluatePointer(responses[1]![1] as never, '/list/*/threadId'), ['T1', 'T2']);
    assert.deepEqual(evaluatePointer(responses[1]![1] as never, '/list/*/mailboxIds'), ['M1', 'M1', 'M2']);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown call id', { '#ids': { resultOf: 'x', name: 'Email/query', path: '/ids' } }, 'invalidResultReference'],
    ['a name mismatch', { '#ids': { resultOf: 'q', name: 'Email/get', path: '/ids' } }, 'invalidResultReference'],
    ['a missing path', { '#ids': { resultOf: 'q', name: 'Email/query', path: '/nope' } }, 'invalidResultReference'],
    ['a malformed reference', { '#ids': 'q' }, 'invalidResultReference'],
    ['both ids and #ids', { ids: [], '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' } }, 'invalidArguments'],
  ];
  for (const [name, args, type] of bad) {
    it(`refuses ${name} with ${type}`, () => {
      assert.throws(
        () => resolveReferences(args as never, responses),
        (err: unknown) => err instanceof MethodError && err.type === type,
      );
    });
  }
});

describe('PatchObject', () => {
  it('sets, removes and creates map members; refuses overlapping paths', () => {
    const current = { keywords: { $seen: true }, name: 'x' };
    assert.deepEqual(applyPatch(current as never, { 'keywords/$flagged': true, 'keywords/$seen': null }), {
      keywords: { $flagged: true },
      name: 'x',
    });
    assert.deepEqual(current, { keywords: { $seen: true }, name: 'x' }, 'the input is not modified');
    assert.deepEqual(applyPatch({} as never, { 'mailboxIds/M1': true }), { mailboxIds: { M1: true } });
    assert.deepEqual(applyPatch({ a: 1 } as never, { 'b~1c': 2 }), { a: 1, 'b/c': 2 });
    assert.throws(
      () => applyPatch(current as never, { keywords: {}, 'keywords/$seen': true }),
      (e: unknown) => e instanceof SetErrorException && e.error.type === 'invalidPatch',
    );
    assert.throws(
      () => applyPatch({ name: 'x' } as never, { 'name/y': 1 }),
      (e: unknown) => e instanceof SetErrorException && e.error.type === 'invalidPatch',
    );
  });
});

describe('dates and ids', () => {
  it('formats UTCDate without zero fractions and parses RFC 3339 strictly', () => {
    assert.equal(utcDate(Date.UTC(2026, 0, 5, 9, 0, 0)), '2026-01-05T09:00:00Z');
    assert.equal(utcDate(Date.UTC(2026, 0, 5, 9, 0, 0, 120)), '2026-01-05T09:00:00.120Z');
    assert.equal(parseDate('2026-01-05T09:00:00Z', true), Date.UTC(2026, 0, 5, 9));
    assert.equal(parseDate('2026-01-05T10:00:00+01:00', false), Date.UTC(2026, 0, 5, 9));
    assert.equal(parseDate('2026-01-05T10:00:00+01:00', true), undefined, 'UTCDate must end in Z');
    assert.equal(parseDate('2026-02-31T00:00:00Z', true), undefined);
    assert.equal(parseDate('2026-01-05t09:00:00z', true), undefined);
    assert.equal(parseDate('2026-01-05 09:00:00Z', true), undefined);
  });

  it('never hands out all-digit ids and round-trips them', () => {
    assert.equal(toId('email', 42), 'E42');
    assert.equal(fromId('email', 'E42'), 42);
    for (const bad of ['42', 'M42', 'E042', 'E', 'E-1', 'E1.5', 'E99999999999999999999', 7, null])
      assert.equal(fromId('email', bad), undefined);
    const sha = 'a'.repeat(64);
    assert.deepEqual(parseBlobId(toBlobId(sha, '2.1')), { sha, part: [2, 1] });
    assert.deepEqual(parseBlobId(toBlobId(sha)), { sha, part: [] });
    for (const bad of [`B${'g'.repeat(64)}`, `B${sha}-0`, `B${sha}-`, sha, `B${sha}-1-x`]) assert.equal(parseBlobId(bad), undefined);
  });
});

describe('request parser fuzz (bounded, seeded)', () => {
  it('answers every mutated request with a request or a JMAP problem type, never an exception (5000 runs)', () => {
    const rand = prng(8620);
    const base = JSON.stringify({
      using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
      methodCalls: [
        ['Email/query', { accountId: 'A1', filter: { inMailbox: 'M1' } }, 'q'],
        ['Email/get', { accountId: 'A1', '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' } }, 'g'],
      ],
      createdIds: { k: 'E1' },
    });
    const pieces = ['{', '}', '[', ']', '"', ',', ':', 'null', '1', '"x"', '\\', '\u00ff', '9007199254740993'];
    const types = new Set(['notJSON', 'notRequest', 'unknownCapability', 'limit'].map((t) => `urn:ietf:params:jmap:error:${t}`));
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      let s = base;
      for (let e = 0; e < 1 + Math.floor(rand() * 3); e++) {
        const at = Math.floor(rand() * s.length);
        s =
          rand() < 0.5
            ? s.slice(0, at) + pieces[Math.floor(rand() * pieces.length)]! + s.slice(at)
            : s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 4));
      }
      const r = parseRequest(Buffer.from(s), JSON_TYPE, limits);
      if (r.ok) {
        accepted++;
        assert.ok(Array.isArray(r.request.using) && Array.isArray(r.request.methodCalls));
      } else {
        assert.ok(types.has(r.problem.type), r.problem.type);
        assert.equal(typeof r.problem.detail, 'string');
      }
    }
    assert.ok(accepted > 0 && accepted < 5000, `some mutations stay valid (${accepted})`);
  });
});
