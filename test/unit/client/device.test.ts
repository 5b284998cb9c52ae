// The device flow's polling (RFC 8628 §3.4, §3.5) against a scripted authorization server:
// `slow_down` adds 5 seconds to the interval for this and every later request, `authorization_pending`
// keeps the interval, and the scope and resource indicators go where RFC 8707 puts them.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { deviceFlow } from '../../../src/client/oauth/device.ts';

describe('device flow polling', () => {
  let server: http.Server;
  let base: string;
  const polls: { at: number; params: URLSearchParams }[] = [];
  let deviceParams: URLSearchParams | undefined;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        const json = (status: number, value: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
        if (req.url === '/device') {
          deviceParams = params;
          return json(200, {
            device_code: 'dc-1',
            user_code: 'BCDF-GHJK',
            verification_uri: `${base}/activate`,
            expires_in: 120,
            interval: 1,
          });
        }
        if (req.url === '/token') {
          polls.push({ at: Date.now(), params });
          if (polls.length === 1) return json(400, { error: 'slow_down' });
          if (polls.length === 2) return json(400, { error: 'authorization_pending' });
          return json(200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-1' });
        }
        json(404, { error: 'not_found' });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('honours slow_down and authorization_pending, then returns the tokens', async () => {
    const config = new oidc.Configuration(
      { issuer: base, token_endpoint: `${base}/token`, device_authorization_endpoint: `${base}/device` },
      'client-1',
      undefined,
      oidc.None(),
    );
    oidc.allowInsecureRequests(config);
    const notes: string[] = [];
    const started = Date.now();
    const tokens = await deviceFlow({
      address: 'alice@example.test',
      config,
      scopes: ['urn:ietf:params:oauth:scope:mail', 'offline_access'],
      resources: ['imap://mail.example.test', 'smtp://mail.example.test'],
      tokenResource: 'imap://mail.example.test',
      authParams: {},
      note: (l) => notes.push(l),
      timeoutMs: 60_000,
    });
    assert.equal(tokens.access_token, 'at-1');
    assert.equal(tokens.refresh_token, 'rt-1');
    assert.match(notes.join('\n'), /open http:\/\/127\.0\.0\.1:\d+\/activate and enter the code BCDF-GHJK/);
    assert.equal(deviceParams?.get('scope'), 'urn:ietf:params:oauth:scope:mail offline_access');
    assert.deepEqual(deviceParams?.getAll('resource'), ['imap://mail.example.test', 'smtp://mail.example.test']);
    assert.equal(polls.length, 3);
    for (const p of polls) {
      assert.equal(p.params.get('grant_type'), 'urn:ietf:params:oauth:grant-type:device_code');
      assert.equal(p.params.get('device_code'), 'dc-1');
      assert.deepEqual(p.params.getAll('resource'), ['imap://mail.example.test']);
    }
    // Interval 1 s at first; after slow_down 6 s for the next poll and the one after it.
    assert.ok(polls[0]!.at - started >= 900, 'the first poll waits the interval');
    assert.ok(polls[1]!.at - polls[0]!.at >= 5_900, `slow_down adds 5 s (waited ${polls[1]!.at - polls[0]!.at} ms)`);
    assert.ok(polls[2]!.at - polls[1]!.at >= 5_900, `the longer interval stays (waited ${polls[2]!.at - polls[1]!.at} ms)`);
  });
});
