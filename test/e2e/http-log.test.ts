// The HTTPS access log: one line per request, also for the embedded provider's routes, naming the
// route or, for a 404, the path asked for (never its query, where codes and states travel).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('the HTTPS access log', () => {
  let t: TestServer;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    t = await startTestServer({ logTo: sink });
  });
  after(async () => {
    await t?.close();
  });

  /**
   * The access-log lines of one request to `path`. A /healthz request follows, and its own line
   * marks the end: every line of the first request was written before it.
   */
  async function logged(path: string, init?: RequestInit): Promise<Array<Record<string, unknown>>> {
    const fetch = caFetch(t.ca);
    const from = lines.length;
    await (await fetch(`${t.baseUrl}${path}`, init)).arrayBuffer();
    await (await fetch(`${t.baseUrl}/healthz?marker`)).arrayBuffer();
    for (let i = 0; i < 200 && !lines.slice(from).some((l) => l.msg === 'request' && l.url === '/healthz'); i++)
      await new Promise((resolve) => setImmediate(resolve));
    const mine = lines.slice(from).filter((l) => l.msg === 'request');
    assert.equal(mine.at(-1)?.url, '/healthz', JSON.stringify(mine));
    return mine.slice(0, -1);
  }

  it('logs a provider request once, with its path and status', async () => {
    const got = await logged('/oidc/.well-known/openid-configuration');
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!.status, 200);
    assert.equal(got[0]!.method, 'GET');
    assert.equal(got[0]!.ip, '127.0.0.1');
  });

  it('logs the path of a 404 instead of "unmatched", without the query', async () => {
    const got = await logged('/no/such/page?code=secret-code&state=s');
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!.url, '/no/such/page');
    assert.equal(got[0]!.status, 404);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('secret-code')), 'the query never reaches the log');
    assert.ok(!lines.some((l) => l.url === 'unmatched'));
  });

  it('logs a provider POST with a secret in the body once, without the secret', async () => {
    const got = await logged('/oidc/token', {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'another-secret-code', client_id: 'nobody' }),
    });
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!.url, '/oidc/token');
    assert.equal(got[0]!.status, 401);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('another-secret-code')));
  });

  it('logs a matched route by its pattern, not the concrete path', async () => {
    const got = await logged('/oidc/interaction/some-interaction-id');
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!.url, '/oidc/interaction/:uid');
    assert.equal(got[0]!.status, 400);
  });
});
