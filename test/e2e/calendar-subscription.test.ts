// Calendars that mirror an external ICS feed: subscribed and refreshed with the admin CLI and on a
// schedule, conditional fetches, bad feeds keep the last good copy, private addresses refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOutbound } from '../../src/calendar/setup.ts';
import { feedUrl, SubscriptionRefresher } from '../../src/calendar/subscriptions.ts';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

const feedEvent = (uid: string, day: string) =>
  `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202611${day}T090000Z\r\nDTEND:202611${day}T100000Z\r\nEND:VEVENT\r\n`;
const feedOf = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//feed//EN\r\n${events.join('')}END:VCALENDAR\r\n`;

describe('ICS feed subscriptions', () => {
  let srv: TestServer;
  let feed: https.Server;
  let port: number;
  let body = feedOf(feedEvent('f1', '02'), feedEvent('f2', '03'));
  const requests: Array<{ url: string; inm: string | undefined }> = [];
  let env: Record<string, string>;

  before(async () => {
    srv = await startTestServer({ domain: 'example.test' });
    const tls = await ensureLocalTls(path.join(srv.dataDir, 'feed-ca'), ['feeds.test']);
    feed = https.createServer({ cert: await readFile(tls.cert), key: await readFile(tls.key) }, (req, res) => {
      requests.push({ url: req.url ?? '', inm: req.headers['if-none-match'] as string | undefined });
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) return res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'text/calendar', etag }).end(body);
    });
    await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r));
    port = (feed.address() as AddressInfo).port;
    await srv.services.accounts.addUser({ address: 'bob@example.test', password: 'correct horse battery staple' });
    // The CLI reads the same data directory; resolve and CA come from the environment, as an admin would set them.
    env = {
      FINGERPOST_CALENDAR_RESOLVE: `feeds.test=127.0.0.1:${port}`,
      FINGERPOST_CALENDAR_CA_FILE: tls.caCert,
      FINGERPOST_HTTP_PORT: String(srv.ports.https),
      FINGERPOST_LOG_LEVEL: 'silent',
    };
  });
  after(async () => {
    feed?.closeAllConnections();
    await new Promise((r) => feed?.close(r));
    await srv?.close();
  });

  const cli = (...args: string[]) => runCli(['admin', 'calendar', ...args, '--data', srv.dataDir], { env });
  const busyDays = async () => {
    const bob = (await srv.services.directory.findByAddress('bob@example.test'))!;
    const fb = await srv.services.calendar.freeBusy(bob, { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    return fb.busy.map((p) => new Date(p.start).toISOString().slice(0, 10));
  };

  it('subscribe fetches at once (webcal:// is HTTPS); refresh sends If-None-Match and keeps what did not change', async () => {
    const r = await cli('subscribe', 'bob@example.test', 'holidays', 'webcal://feeds.test/team.ics', '--every', '15m');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mirrors https:\/\/feeds\.test\/team\.ics every 15m/);
    assert.match(r.stdout, /holidays: updated \(2 new, 0 changed, 0 unchanged, 0 removed\)/);
    assert.deepEqual(await busyDays(), ['2026-11-02', '2026-11-03']);
    const again = await cli('refresh', 'bob@example.test', 'holidays');
    assert.match(again.stdout, /holidays: unchanged \(not modified\)/);
    assert.ok(requests.at(-1)!.inm, 'the second fetch was conditional');
    body = feedOf(feedEvent('f2', '04'), feedEvent('f3', '05'));
    const changed = await cli('refresh', 'bob@example.test', 'holidays');
    assert.match(changed.stdout, /1 new, 1 changed, 0 unchanged, 1 removed/);
    assert.deepEqual(await busyDays(), ['2026-11-04', '2026-11-05']);
  });

  it('a malformed feed keeps the last good copy and records the error', async () => {
    body = feedOf(feedEvent('f9', '06')).replace('DTSTART:20261106T090000Z', 'DTSTART:20261306T090000Z');
    const r = await cli('refresh', 'bob@example.test', 'holidays');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid iCalendar at line 7: DTSTART value "20261306T090000Z"/);
    assert.deepEqual(await busyDays(), ['2026-11-04', '2026-11-05']);
    const list = await cli('list', 'bob@example.test');
    assert.match(
      list.stdout,
      /holidays\s+2\s+UTC\s+yes\s+https:\/\/feeds\.test\/team\.ics every 15m, last .*\(error: invalid iCalendar at line 7/,
    );
    body = feedOf(feedEvent('f2', '04'), feedEvent('f3', '05'));
  });

  it('feeds on private addresses are refused unless mapped explicitly', async () => {
    const r = await cli('subscribe', 'bob@example.test', 'private', `https://localhost:${port}/team.ics`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /localhost resolves to .*, which is not a public address/);
    const bob = (await srv.services.directory.findByAddress('bob@example.test'))!;
    const refresher = new SubscriptionRefresher({ service: srv.services.calendar, outbound: createOutbound(srv.config) });
    for (const url of [`https://127.0.0.1:${port}/team.ics`, 'http://169.254.169.254/latest/meta-data/', `https://[::1]:${port}/x.ics`]) {
      const cal = await srv.services.calendar.store.createCalendar(bob.id, {
        name: `p${url.length}`,
        timezone: 'UTC',
        subscription: { url: feedUrl(url), intervalMs: 3_600_000 },
      });
      const outcome = await refresher.refresh(cal);
      assert.equal(outcome.status, 'failed', url);
      assert.match(outcome.detail, /is not a public address/, url);
    }
    assert.throws(() => feedUrl('ftp://feeds.test/x.ics'), /webcal:\/\/, https:\/\/ or http:\/\//);
    assert.throws(() => feedUrl('https://user:secret@feeds.test/x.ics'), /must not carry credentials/);
  });

  it('the refresher picks up due subscriptions on its schedule', async () => {
    const bob = (await srv.services.directory.findByAddress('bob@example.test'))!;
    const cal = (await srv.services.calendar.store.getCalendar(bob.id, 'holidays'))!;
    body = feedOf(feedEvent('f7', '07'));
    // Make it due now; a refresher polling every 50 ms claims and refreshes it.
    await srv.services.calendar.store.recordRefresh(cal.id, { error: null, nextAt: Date.now() - 1 });
    const stop = new SubscriptionRefresher({
      service: srv.services.calendar,
      outbound: createOutbound({
        ...srv.config,
        calendar: { ...srv.config.calendar, resolve: [env.FINGERPOST_CALENDAR_RESOLVE!], ca_file: env.FINGERPOST_CALENDAR_CA_FILE! },
      }),
    }).start(50);
    try {
      for (let i = 0; (await busyDays()).join() !== '2026-11-07'; i++) {
        assert.ok(i < 200, 'the subscription was not refreshed');
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = (await srv.services.calendar.store.getCalendar(bob.id, 'holidays'))!;
      assert.ok(after.subscription!.nextRefreshAt! > Date.now() + 10 * 60_000, 'the next refresh is an interval away');
    } finally {
      await stop();
    }
  });
});
