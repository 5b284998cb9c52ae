// Operations endpoints on the HTTPS listener: GET /healthz for anyone, Prometheus
// GET /metrics only for the addresses in http.metrics_from.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('healthz and metrics', () => {
  let open: TestServer;
  let closed: TestServer;

  before(async () => {
    open = await startTestServer();
    closed = await startTestServer({ overrides: { http: { metrics_from: ['10.0.0.0/8'] } } });
  });
  after(async () => {
    await open?.close();
    await closed?.close();
  });

  it('serves Prometheus metrics to an allowed address', async () => {
    const res = await caFetch(open.ca)(`${open.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# TYPE fingerpost_connections_total /m);
    assert.match(text, /^# TYPE fingerpost_auth_attempts_total counter/m);
    assert.match(text, /^# TYPE fingerpost_event_loop_stalls_total counter/m);
  });

  it('refuses metrics to an address outside http.metrics_from (403), while healthz stays open', async () => {
    const fetch = caFetch(closed.ca);
    const res = await fetch(`${closed.baseUrl}/metrics`);
    assert.equal(res.status, 403);
    assert.doesNotMatch(await res.text(), /fingerpost_/);
    const health = await fetch(`${closed.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; checks: unknown; event_loop: Record<string, number> };
    assert.deepEqual({ status: body.status, checks: body.checks }, { status: 'ok', checks: { store: 'ok' } });
    // The watchdog's figures: how late the event loop every protocol shares ran recently.
    assert.deepEqual(Object.keys(body.event_loop).sort(), ['delay_max_ms', 'delay_p50_ms', 'delay_p99_ms', 'window_s']);
    for (const v of Object.values(body.event_loop)) assert.ok(Number.isFinite(v) && v >= 0);
  });
});
