// Result-reference amplification (RFC 8620 §3.7, §8.5): a small request may not grow into a huge
// response or argument list. Resolved references are held to maxSizeRequest, the response to
// jmap.max_size_response, both answered with a method-level error; a `*` path over 150,000 items
// and a path of thousands of segments are handled without overflowing the stack or logging one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { limitsFrom } from '../../../src/protocols/jmap/capabilities.ts';
import type { JmapServices } from '../../../src/protocols/jmap/context.ts';
import { processRequest } from '../../../src/protocols/jmap/dispatch.ts';
import { jsonSize } from '../../../src/protocols/jmap/json-size.ts';
import { METHODS } from '../../../src/protocols/jmap/methods.ts';

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field
type Json = any;
const CORE = ['urn:ietf:params:jmap:core'];

describe('result references and response size are budgeted', () => {
  let dir: string;
  let logged = '';

  /** Core/echo needs nothing but the limits, the config and a logger: the store is left out. */
  function services(overrides: Record<string, unknown>): JmapServices {
    const config = loadConfig({ dataDir: dir, env: {}, overrides: { jmap: overrides } });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    return { config, logger: createLogger('info', sink), limits: limitsFrom(config), now: Date.now } as unknown as JmapServices;
  }
  const account = { id: 1, address: 'a@example.test' } as unknown as DirectoryAccount;
  const caller = { account, auth: { ok: true, account, method: 'password', scopes: [] } } as never;

  async function run(s: JmapServices, methodCalls: Array<[string, Json, string]>) {
    const response = await processRequest({ using: CORE, methodCalls }, s, caller, METHODS, 'st');
    return { calls: response.methodResponses as Array<[string, Json, string]>, size: JSON.stringify(response).length };
  }
  const ref = (resultOf: string, p = '') => ({ resultOf, name: 'Core/echo', path: p });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-jmap-budget-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('doubling echoes stop at maxSizeRequest worth of resolved references', async () => {
    const s = services({ max_size_request: 100_000, max_size_response: 10_000_000 });
    const calls: Array<[string, Json, string]> = [['Core/echo', { s: 'x'.repeat(10_000) }, 'c0']];
    for (let i = 1; i < 16; i++) calls.push(['Core/echo', { '#a': ref(`c${i - 1}`), '#b': ref(`c${i - 1}`) }, `c${i}`]);
    const { calls: out, size } = await run(s, calls);
    const failed = out.filter(([name]) => name === 'error');
    assert.ok(failed.length > 0, 'some calls are refused');
    assert.deepEqual({ type: failed[0]![1].type, limit: failed[0]![1].limit }, { type: 'requestTooLarge', limit: 'maxSizeRequest' });
    assert.ok(size < 300_000, `the response stays small: ${size}`);
  });

  it('a response over jmap.max_size_response gets a method error, and the request goes on', async () => {
    const s = services({ max_size_request: 10_000_000, max_size_response: 200_000 });
    const { calls: out, size } = await run(s, [
      ['Core/echo', { s: 'y'.repeat(150_000) }, 'big'],
      ['Core/echo', { again: 'z'.repeat(100_000) }, 'over'],
      ['Core/echo', { small: true }, 'after'],
    ]);
    assert.equal(out[0]![0], 'Core/echo');
    assert.deepEqual([out[1]![0], out[1]![1].type, out[1]![1].limit], ['error', 'requestTooLarge', 'maxSizeResponse']);
    assert.deepEqual(out[2], ['Core/echo', { small: true }, 'after']);
    assert.ok(size < 200_000 + 1_000, `${size}`);
  });

  it('a * path over 150,000 items resolves without overflowing the stack', async () => {
    logged = '';
    const s = services({});
    const items = Array.from({ length: 150_001 }, (_, i) => i);
    const { calls: out } = await run(s, [
      ['Core/echo', { list: [items, [-1]] }, 'c0'],
      ['Core/echo', { '#flat': ref('c0', '/list/*/*') }, 'c1'],
      ['Core/echo', { '#each': ref('c0', '/list/0/*') }, 'c2'],
    ]);
    assert.equal(out[1]![0], 'Core/echo', JSON.stringify(out[1]![1]).slice(0, 200));
    assert.equal(out[1]![1].flat.length, 150_002);
    assert.equal(out[1]![1].flat.at(-1), -1);
    assert.equal(out[2]![1].each.length, 150_001);
    assert.doesNotMatch(logged, /stack|RangeError/);
  });

  it('a path of thousands of segments is invalidResultReference, not serverFail', async () => {
    logged = '';
    const s = services({});
    const { calls: out } = await run(s, [
      ['Core/echo', { a: 1 }, 'c0'],
      ['Core/echo', { '#x': ref('c0', '/*'.repeat(200_000)) }, 'c1'],
      ['Core/echo', { '#y': ref('c0', `/${'a/'.repeat(5_000)}a`) }, 'c2'],
    ]);
    assert.deepEqual(
      out.slice(1).map(([name, args]) => [name, args.type]),
      [
        ['error', 'invalidResultReference'],
        ['error', 'invalidResultReference'],
      ],
    );
    assert.equal(logged, '', 'nothing logged for a client error');
  });

  it('an unexpected failure is serverFail; its stack trace is logged once, not once per request', async () => {
    logged = '';
    const s = services({});
    const methods = {
      ...METHODS,
      'Test/fail': {
        capability: 'urn:ietf:params:jmap:core',
        run: async () => {
          throw new RangeError('Maximum call stack size exceeded');
        },
      },
    };
    for (let i = 0; i < 5; i++) {
      const r = await processRequest({ using: CORE, methodCalls: [['Test/fail', {}, 'f']] }, s, caller, methods, 'st');
      assert.deepEqual(r.methodResponses[0]![1]['type'], 'serverFail');
    }
    const lines = logged
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(lines.length, 5, 'each failure is logged');
    assert.equal(lines.filter((l) => typeof l.stack === 'string').length, 1, 'with its stack trace once');
  });

  it('jsonSize counts what JSON.stringify writes (strings without escapes) and stops past its limit', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -12.5,
      '',
      'abc',
      [],
      {},
      [1, [2, [3, []]], { a: null }],
      {
        list: [
          { id: 'E1', keywords: { $seen: true } },
          { id: 'E2', skipped: undefined },
        ],
        n: 1e21,
      },
    ];
    for (const v of values) assert.equal(jsonSize(v, 1e9), JSON.stringify(v).length, JSON.stringify(v));
    assert.equal(jsonSize({ s: 'x'.repeat(100) }, 50), Number.POSITIVE_INFINITY);
    assert.equal(
      jsonSize(
        Array.from({ length: 1000 }, () => 1),
        100,
      ),
      Number.POSITIVE_INFINITY,
    );
  });
});
