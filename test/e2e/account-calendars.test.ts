// The account page's calendar feeds and vacation reply in headless Chromium: subscribe to an
// HTTPS iCalendar feed (a local node:https server with its own CA, reached through
// calendar.resolve and the SSRF-guarded client), see it counted in free/busy, refresh it after it
// changed, remove it; save a vacation reply and read it back as the JMAP VacationResponse
// settings; CSRF refused; the pages pass axe-core.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { axeProblems, signInPage } from './account-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium');
const USER = 'kate@example.test';
const PASSWORD = 'kate account password';

const event = (uid: string, day: string) =>
  `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202611${day}T090000Z\r\nDTEND:202611${day}T100000Z\r\nEND:VEVENT\r\n`;
const calendar = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//feed//EN\r\n${events.join('')}END:VCALENDAR\r\n`;

describe('calendar feeds and the vacation reply on the account page', { skip }, () => {
  let server: TestServer;
  let feed: https.Server;
  let feedDir: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let body = calendar(event('f1', '02'), event('f2', '03'));

  before(async () => {
    feedDir = await mkdtemp(path.join(os.tmpdir(), 'fp-feed-'));
    const tls = await ensureLocalTls(feedDir, ['feeds.test']);
    feed = https.createServer({ cert: await readFile(tls.cert), key: await readFile(tls.key) }, (req, res) => {
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) return res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'text/calendar', etag }).end(body);
    });
    await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r));
    const port = (feed.address() as AddressInfo).port;
    server = await startTestServer({ overrides: { calendar: { resolve: [`feeds.test=127.0.0.1:${port}`], ca_file: tls.caCert } } });
    await server.services.accounts.addUser({ address: USER, password: PASSWORD });
    await server.services.accounts.addUser({ address: 'boss@example.test', password: 'boss account password' });
    await server.services.accounts.addUser({ address: 'eve@example.test', password: 'eve account password' });
    browser = await launchChromium(server.dataDir);
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
    feed?.closeAllConnections();
    await new Promise((r) => feed?.close(r));
    await rm(feedDir, { recursive: true, force: true });
  });

  const busyDays = async () => {
    const kate = (await server.services.directory.findByAddress(USER))!;
    const fb = await server.services.calendar.freeBusy(kate, { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    return fb.busy.map((p) => new Date(p.start).toISOString().slice(0, 10));
  };

  it('subscribes to a feed, refreshes it after it changed, and removes it', async () => {
    const { context, page, errors } = await signInPage(browser, server.baseUrl, USER, PASSWORD);
    contexts.push(context);
    await page.goto(`${server.baseUrl}/account/calendars`);
    await page.fill('#feed-url', 'webcal://feeds.test/team.ics');
    await page.fill('#feed-name', 'team');
    await page.click('form[action="/account/calendars"] button.primary');
    assert.match((await page.textContent('.ok')) ?? '', /Subscribed and fetched: 2 new/);
    assert.match((await page.textContent('tbody')) ?? '', /https:\/\/feeds\.test\/team\.ics[\s\S]*60 min/);
    assert.deepEqual(await busyDays(), ['2026-11-02', '2026-11-03']);
    assert.deepEqual(await axeProblems(page), []);

    body = calendar(event('f2', '04'));
    await page.click('button[aria-label="Refresh team"]');
    assert.match((await page.textContent('.ok')) ?? '', /team: updated \(0 new, 1 changed, 0 unchanged, 1 removed\)/);
    assert.deepEqual(await busyDays(), ['2026-11-04']);

    const api = context.request;
    const forged = await api.post(`${server.baseUrl}/account/calendars/team/remove`, { form: { csrf: 'forged' }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    await Promise.all([page.waitForURL(/done=removed/), page.click('button[aria-label="Remove team"]')]);
    assert.deepEqual(await busyDays(), []);
    const kate = (await server.services.directory.findByAddress(USER))!;
    assert.equal(await server.services.calendar.store.getCalendar(kate.id, 'team'), undefined);
    assert.deepEqual(errors, []);
  });

  it('refuses a feed that is not a web address and one on a private address', async () => {
    const { context, page } = await signInPage(browser, server.baseUrl, USER, PASSWORD);
    contexts.push(context);
    await page.goto(`${server.baseUrl}/account/calendars`);
    await page.fill('#feed-url', 'ftp://feeds.test/x.ics');
    await page.fill('#feed-name', 'bad');
    await page.click('form[action="/account/calendars"] button.primary');
    assert.match((await page.textContent('.error')) ?? '', /webcal:\/\/, https:\/\/ or http:\/\//);
    await page.fill('#feed-url', 'https://127.0.0.1:1/x.ics');
    await page.fill('#feed-name', 'local');
    await page.click('form[action="/account/calendars"] button.primary');
    assert.match((await page.textContent('main')) ?? '', /first fetch failed/);
  });

  it('saves a vacation reply into the settings JMAP and the responder use', async () => {
    const { context, page, errors } = await signInPage(browser, server.baseUrl, USER, PASSWORD);
    contexts.push(context);
    await page.goto(`${server.baseUrl}/account/vacation`);
    await page.check('#vacation-on');
    await page.fill('#from', '2026-12-20');
    await page.fill('#to', '2026-12-10');
    await page.fill('#text', 'Away until January.');
    await page.click('form[action="/account/vacation"] button.primary');
    assert.match((await page.textContent('.error')) ?? '', /before the first day/);
    await page.fill('#to', '2027-01-03');
    await page.fill('#subject', 'Out of office');
    await Promise.all([page.waitForURL(/done=saved/), page.click('form[action="/account/vacation"] button.primary')]);
    const kate = (await server.services.directory.findByAddress(USER))!;
    const v = await server.services.mail.vacation.load(kate.id);
    assert.deepEqual(v, {
      isEnabled: true,
      fromDate: Date.UTC(2026, 11, 20),
      toDate: Date.UTC(2027, 0, 4),
      subject: 'Out of office',
      textBody: 'Away until January.',
      htmlBody: null,
    });
    assert.equal(await page.inputValue('#to'), '2027-01-03', 'the last day reads back inclusive');
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(
      errors.filter((e) => !/status of 400 .*\/account\/vacation$/.test(e)),
      [],
    );
  });

  it('logs who asked for free/busy and whether the rule allowed it', async () => {
    const { context, page, errors } = await signInPage(browser, server.baseUrl, USER, PASSWORD);
    contexts.push(context);
    await page.goto(`${server.baseUrl}/account/sharing`);
    assert.match((await page.textContent('main')) ?? '', /Nobody asked/);
    await page.check('input[name=policy][value=list]');
    await page.fill('#allow', 'boss@example.test');
    await Promise.all([page.waitForURL(/done=saved/), page.click('form[action="/account/sharing"] button.primary')]);
    const get = caFetch(server.ca);
    const fb = (who?: string) =>
      get(`${server.baseUrl}/freebusy/${USER}?start=2026-11-02T00:00:00Z&end=2026-11-03T00:00:00Z`, {
        headers: who ? { authorization: `Basic ${Buffer.from(`${who}@example.test:${who} account password`).toString('base64')}` } : {},
      });
    assert.equal((await fb('boss')).status, 200);
    assert.notEqual((await fb('eve')).status, 200);
    assert.equal((await fb()).status, 401);
    await page.goto(`${server.baseUrl}/account/sharing`);
    const rows = (await page.locator('h2:has-text("Who asked") + .table tbody tr').allInnerTexts()).map((r) =>
      r.replace(/\s+/g, ' ').trim(),
    );
    assert.equal(rows.length, 3, rows.join('\n'));
    assert.match(rows[0]!, /Someone not signed in Without signing in Refused/);
    assert.match(rows[1]!, /eve@example\.test Signed in here Refused/);
    assert.match(rows[2]!, /boss@example\.test Signed in here Allowed/);
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(errors, []);
  });
});
