// A seeded, bounded fuzz run of the JMAP API (RFC 8620 §3) over HTTPS: real requests mutated as
// JSON (hostile values swapped in, deep nesting, numbers past 2^53, result references with hostile
// paths, filters nested deep) and as bytes (invalid UTF-8, NUL, truncated bodies, random bytes,
// bodies over maxSizeRequest). Every request gets 200 with well-formed method responses (method
// errors allowed, never serverFail) or a 4xx problem+json, nothing is logged as an error, and
// the event loop never stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ABSURD_NUMBERS, assertHealthy, errorLog, fuzzRounds, fuzzSeed, INVALID_UTF8, loopWatch, mutate, Rand, show } from './harness.ts';
import { type HttpAnswer, httpsClient } from './http-client.ts';

const SEED = fuzzSeed(8620);
const ROUNDS = fuzzRounds(800);
const ALICE = 'alice@example.test';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];
const MAX_REQUEST = 200_000;

// biome-ignore lint/suspicious/noExplicitAny: fuzzed JSON is any shape
type Json = any;

function calls(account: string): Json[][] {
  return [
    ['Core/echo', { hello: [1, 2, { a: null }] }, 'c0'],
    ['Mailbox/get', { accountId: account, ids: null }, 'c1'],
    ['Mailbox/query', { accountId: account, filter: { role: 'inbox' }, sort: [{ property: 'name' }] }, 'c2'],
    [
      'Email/query',
      { accountId: account, filter: { operator: 'OR', conditions: [{ text: 'hello' }, { from: 'a@b.c' }] }, position: 0, limit: 10 },
      'c3',
    ],
    [
      'Email/get',
      { accountId: account, '#ids': { resultOf: 'c3', name: 'Email/query', path: '/ids' }, properties: ['subject', 'from', 'bodyValues'] },
      'c4',
    ],
    ['Thread/get', { accountId: account, '#ids': { resultOf: 'c4', name: 'Email/get', path: '/list/*/threadId' } }, 'c5'],
    ['Email/changes', { accountId: account, sinceState: '0', maxChanges: 50 }, 'c6'],
    [
      'Email/set',
      {
        accountId: account,
        create: {
          k1: {
            mailboxIds: { M1: true },
            subject: 'x',
            bodyStructure: { type: 'text/plain', partId: 'p' },
            bodyValues: { p: { value: 'hi' } },
          },
        },
      },
      'c7',
    ],
    ['Mailbox/set', { accountId: account, create: { n: { name: 'fuzz', parentId: null } } }, 'c8'],
    ['Identity/get', { accountId: account }, 'c9'],
    ['SearchSnippet/get', { accountId: account, filter: { text: 'hello' }, emailIds: ['E1'] }, 'd0'],
    ['Email/queryChanges', { accountId: account, sinceQueryState: 'x', filter: { inMailbox: 'M1' } }, 'd1'],
    ['VacationResponse/get', { accountId: account }, 'd2'],
  ];
}

/** Nesting too deep for JSON.stringify is written as text: a placeholder string, expanded by `serialize`. */
const DEEP = '\u0001deep:';

function serialize(v: Json): string {
  return JSON.stringify(v).replace(/"\\u0001deep:(array|filter):(\d+)(?::(\w+))?"/g, (_m, kind: string, n: string, op?: string) => {
    const depth = Number(n);
    if (kind === 'array') return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const open = `{"operator":"${op}","conditions":[`;
    return `${open.repeat(depth)}{"text":"a"}${']}'.repeat(depth)}`;
  });
}

function hostileValue(r: Rand, depth = 0): Json {
  switch (r.int(12)) {
    case 0:
      return Number(r.pick(ABSURD_NUMBERS));
    case 1:
      return JSON.parse(r.pick(['1e400', '-0', '9007199254740993', '1.5', '-1']));
    case 2:
      return 'x\u0000y';
    case 3:
      return '\ud800';
    case 4:
      return `${DEEP}array:${r.chance(0.2) && !depth ? r.int(20_000) : 240 + r.int(30)}`;
    case 5:
      return `${DEEP}filter:${r.chance(0.2) && !depth ? r.int(20_000) : r.int(130)}:${r.pick(['AND', 'OR', 'NOT'])}`;
    case 6:
      return {
        resultOf: r.pick(['c0', 'c3', 'zz']),
        name: r.pick(['Email/query', 'Email/get', 'Core/echo']),
        path: r.pick(['/*/*/*/*', '/list/*/*/*', `/${'*/'.repeat(r.int(200))}x`, '', '/ids/4294967296', '~1~0']),
      };
    case 7:
      return 'a'.repeat(depth ? 10 : r.int(20_000));
    case 8:
      return depth ? [] : Array.from({ length: r.int(300) }, () => hostileValue(r, depth + 1));
    case 9:
      return null;
    case 10:
      return { __proto__: { polluted: true }, constructor: 'x', toString: 1 };
    default:
      return r.pick([true, false, {}, [], '', 'M1', 'E1', '*']);
  }
}

/** Swaps a hostile value in at a random place of `v` (or returns one). */
function plant(r: Rand, v: Json, depth = 0): Json {
  if (depth > 6 || v === null || typeof v !== 'object' || r.chance(0.2)) return hostileValue(r);
  const keys = Object.keys(v);
  if (!keys.length) return hostileValue(r);
  const out: Json = Array.isArray(v) ? [...v] : { ...v };
  const key = r.pick(keys);
  out[key] = plant(r, v[key], depth + 1);
  if (!Array.isArray(v) && r.chance(0.1))
    out[r.pick(['#ids', '#filter', 'ids', 'position', 'limit', 'anchorOffset', 'properties'])] = hostileValue(r);
  return out;
}

function* inputs(r: Rand, account: string, rounds: number): Generator<{ body: Buffer; contentType: string }> {
  const json = 'application/json';
  for (let i = 0; i < rounds; i++) {
    const all = calls(account);
    const request: Json = { using: USING, methodCalls: Array.from({ length: 1 + r.int(4) }, () => r.pick(all)) };
    switch (r.int(16)) {
      case 0:
        yield { body: Buffer.from(JSON.stringify(request)).subarray(0, r.int(200)), contentType: json };
        break;
      case 1:
        yield { body: r.bytes(r.int(2000)), contentType: r.pick([json, 'text/plain', 'application/json; charset=latin1']) };
        break;
      case 2: {
        const text = JSON.stringify(request);
        const at = r.int(text.length);
        yield {
          body: Buffer.concat([Buffer.from(text.slice(0, at)), r.pick(INVALID_UTF8), Buffer.from(text.slice(at))]),
          contentType: json,
        };
        break;
      }
      case 3:
        yield { body: Buffer.from(`${'['.repeat(10_000 + r.int(100_000))}1`), contentType: json };
        break;
      case 4:
        yield {
          body: Buffer.from(JSON.stringify({ ...request, methodCalls: Array.from({ length: 20 + r.int(100) }, () => r.pick(all)) })),
          contentType: json,
        };
        break;
      case 5:
        yield { body: mutate(r, JSON.stringify(request)), contentType: json };
        break;
      case 6:
        yield { body: Buffer.from(`{"using":[],"methodCalls":[["Core/echo",{"a":"${'b'.repeat(MAX_REQUEST)}"},"x"]]}`), contentType: json };
        break;
      default:
        // Mostly into a method's arguments, sometimes anywhere in the request.
        if (r.chance(0.85)) {
          const at = r.int(request.methodCalls.length);
          const [name, args, id] = request.methodCalls[at];
          request.methodCalls[at] = [name, plant(r, args), id];
        }
        yield { body: Buffer.from(serialize(r.chance(0.85) ? request : plant(r, request))), contentType: json };
    }
  }
}

/** Checks one answer: well-formed method responses, or a 4xx problem; never a server failure. */
function check(a: HttpAnswer, what: () => string): void {
  assert.ok(a.status < 500, `HTTP ${a.status} ${a.body.subarray(0, 300).toString()}: ${what()}`);
  if (a.status === 200) {
    const response = JSON.parse(a.body.toString('utf8')) as Json;
    assert.ok(Array.isArray(response.methodResponses), `no methodResponses: ${what()}`);
    for (const [name, args, id] of response.methodResponses) {
      assert.equal(typeof name, 'string', what());
      assert.equal(typeof id, 'string', what());
      assert.ok(args && typeof args === 'object', what());
      if (name === 'error') assert.notEqual(args.type, 'serverFail', `serverFail ${JSON.stringify(args)}: ${what()}`);
    }
  } else {
    assert.ok(a.status >= 400, `HTTP ${a.status}: ${what()}`);
    assert.match(a.contentType, /^application\/problem\+json/, what());
    assert.equal(typeof (JSON.parse(a.body.toString('utf8')) as Json).type, 'string', what());
  }
}

describe(`JMAP fuzz (seed ${SEED})`, () => {
  let t: TestServer;
  let auth: string;
  let account: string;
  let client: ReturnType<typeof httpsClient>;
  const log = errorLog();
  const watch = loopWatch();

  before(async () => {
    t = await startTestServer({
      logTo: log.stream,
      overrides: { jmap: { max_size_request: MAX_REQUEST }, auth: { limits: { exempt: ['127.0.0.1'] } } },
    });
    await t.services.accounts.addUser({ address: ALICE, password: 'alice-fuzz-password' });
    // An app password: a digest compare per request instead of an argon2 hash.
    const { secret } = await t.services.accounts.createAppPassword({ address: ALICE, name: 'fuzz', protocols: ['http'], expiresAt: null });
    auth = `Basic ${Buffer.from(`${ALICE}:${secret}`).toString('base64')}`;
    client = httpsClient(t.baseUrl, t.ca);
    const session = await client.request('GET', '/jmap/session', { authorization: auth });
    assert.equal(session.status, 200, session.body.toString());
    account = JSON.parse(session.body.toString()).primaryAccounts['urn:ietf:params:jmap:mail'];
    // The API answers before the run starts.
    const create = await client.request(
      'POST',
      '/jmap/api',
      { authorization: auth, 'content-type': 'application/json' },
      Buffer.from(
        JSON.stringify({
          using: USING,
          methodCalls: [['Mailbox/query', { accountId: account, filter: { role: 'inbox' } }, 'a']],
        }),
      ),
    );
    assert.equal(create.status, 200);
  });
  after(async () => {
    watch.stop();
    client?.close();
    await t?.close();
  });

  it('every request gets method responses or a 4xx problem', async () => {
    const r = new Rand(SEED);
    let n = 0;
    const statuses = new Map<number, number>();
    for (const input of inputs(r, account, ROUNDS)) {
      n++;
      const a = await client.request('POST', '/jmap/api', { authorization: auth, 'content-type': input.contentType }, input.body);
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (process.env.FUZZ_DEBUG && a.status === 400) console.log(a.body.toString().slice(0, 200));
      check(a, () => `request #${n} (seed ${SEED}) ${show(input.body)}`);
    }
    console.log(`# jmap statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) > ROUNDS / 4);
    assertHealthy(watch, log, SEED);
  });

  it('the API still answers', async () => {
    const a = await client.request(
      'POST',
      '/jmap/api',
      { authorization: auth, 'content-type': 'application/json' },
      Buffer.from(JSON.stringify({ using: USING, methodCalls: [['Mailbox/get', { accountId: account }, 'a']] })),
    );
    assert.equal(a.status, 200);
    assert.equal(JSON.parse(a.body.toString()).methodResponses[0][0], 'Mailbox/get');
  });
});
