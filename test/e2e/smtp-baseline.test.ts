// The built-in baseline on the MX listener: DNS blocklists (RFC 5782) served by a loopback DNS
// server the test starts, looked up at MAIL FROM for clients on different loopback addresses, and
// greylisting (RFC 6647) at RCPT TO on the server's clock (faked here), kept in the database;
// the allow lists, the reply texts and the Prometheus counters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { FakeClock } from '../helpers/clock.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, replyOf } from './smtp-helpers.ts';

async function metric(t: TestServer, line: RegExp): Promise<number> {
  const text = await (await caFetch(t.ca)(`${t.baseUrl}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(' ') + 1)) : 0;
}

async function session(port: number, from: string): Promise<LineClient> {
  const c = await LineClient.connect(port, { localAddress: from });
  assert.match(await replyOf(c), /^220 /);
  c.write('EHLO mx.remote.test\r\n');
  assert.match(await replyOf(c), /^250 /m);
  return c;
}

async function say(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return replyOf(c);
}

describe('MX baseline: DNS blocklists and greylisting', () => {
  let t: TestServer;
  let dns: TestDns;
  const clock = new FakeClock();

  before(async () => {
    dns = await startTestDns();
    // 127.0.0.2 is listed in both zones (RFC 5782 §5: the test entry), 127.0.0.3 only answers a
    // list's own error code, 127.0.0.4 is listed but on the allow list.
    dns.set('2.0.0.127.bl.test', 'A', ['127.0.0.2']);
    dns.set('2.0.0.127.bl.test', 'TXT', ['Listed for testing, see https://bl.test/q?127.0.0.2']);
    dns.set('2.0.0.127.second.test', 'A', ['127.0.0.4']);
    dns.set('3.0.0.127.bl.test', 'A', ['127.255.255.254']);
    dns.set('4.0.0.127.bl.test', 'A', ['127.0.0.2']);
    dns.fail('5.0.0.127.bl.test');
    dns.fail('5.0.0.127.second.test');
    t = await startTestServer({
      domain: 'example.test',
      clock,
      overrides: {
        inbound: {
          sender_auth: false,
          dns_servers: [dns.server],
          dns_timeout: '2s',
          dnsbl_zones: ['bl.test', 'second.test'],
          client_allow: ['127.0.0.4'],
          greylist: true,
          greylist_delay: '5m',
          greylist_retry_window: '4h',
          greylist_pass_ttl: '30d',
          greylist_allow_domains: ['trusted.test'],
        },
      },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
  });
  after(async () => {
    await t?.close();
    await dns?.close();
  });

  test('a listed client is refused at MAIL FROM with the zone and its reason', async () => {
    const c = await session(t.ports.smtp, '127.0.0.2');
    const r = await say(c, 'MAIL FROM:<spammer@remote.test>');
    assert.match(r, /^554 5\.7\.1 Service unavailable; client \[127\.0\.0\.2\] blocked using bl\.test: Listed for testing/);
    // The session goes on: RSET and QUIT are still answered.
    assert.match(await say(c, 'RSET'), /^250 /);
    c.close();
    assert.equal(await metric(t, /^fingerpost_smtp_dnsbl_total\{result="listed",zone="bl.test"\}/), 1);
  });

  test("a list's own error code (127.255.255.x), a failing zone and the allow list do not refuse", async () => {
    for (const from of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const c = await session(t.ports.smtp, from);
      assert.match(await say(c, 'MAIL FROM:<someone@remote.test>'), /^250 2\.1\.0/, from);
      c.close();
    }
    assert.equal(await metric(t, /^fingerpost_smtp_dnsbl_total\{result="allowed"/), 1);
    assert.equal(await metric(t, /^fingerpost_smtp_dnsbl_total\{result="error"/), 1);
    assert.ok(dns.queries.includes('A 3.0.0.127.second.test'), 'every zone is asked');
  });

  test('greylisting: 451 for a new triplet, 451 for an early retry, then accepted and remembered', async () => {
    const c = await session(t.ports.smtp, '127.0.0.1');
    assert.match(await say(c, 'MAIL FROM:<alice@sender.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^451 4\.7\.1 Greylisted \(RFC 6647\): please try again in 300 seconds/);
    // An unknown recipient is still answered as unknown (after the 1 s harvesting pause), not greylisted.
    assert.match(await say(c, 'RCPT TO:<nobody@example.test>'), /^550 5\.1\.1/);
    await clock.sleep(120_000);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^451 4\.7\.1 Greylisted \(RFC 6647\): please try again in 179 seconds/);
    c.close();
    await clock.sleep(200_000);
    // A retry from another address of the same /24 passes (RFC 6647 §4.2.1), with a real client.
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.smtp,
      ignoreTLS: true,
      localAddress: '127.0.0.9',
      name: 'mx.sender.test',
    });
    const raw = 'From: <alice@sender.test>\r\nTo: <bob@example.test>\r\nSubject: greylisted\r\n\r\nretried\r\n';
    const sent = await transport.sendMail({ envelope: { from: 'alice@sender.test', to: ['bob@example.test'] }, raw });
    assert.match(sent.response, /^250 /);
    assert.ok((await inboxOf(t, 'bob@example.test')).some((m) => m.includes('Subject: greylisted')));
    // Weeks later (inside greylist_pass_ttl) the triplet passes at once.
    await clock.sleep(20 * 86_400_000);
    const again = await transport.sendMail({ envelope: { from: 'alice@sender.test', to: ['bob@example.test'] }, raw });
    assert.match(again.response, /^250 /);
    const row = await t.services.db.kysely
      .selectFrom('greylist')
      .selectAll()
      .where('sender', '=', 'alice@sender.test')
      .executeTakeFirstOrThrow();
    assert.equal(row.client, '127.0.0.0/24');
    assert.ok(row.passed_at !== null);
    assert.equal(await metric(t, /^fingerpost_smtp_greylist_total\{result="delayed"\}/), 2);
    assert.equal(await metric(t, /^fingerpost_smtp_greylist_total\{result="passed"\}/), 2);
  });

  test('greylisting: a retry after the retry window starts over; allowed domains pass at once', async () => {
    const c = await session(t.ports.smtp, '127.0.0.1');
    assert.match(await say(c, 'MAIL FROM:<late@sender.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^451 4\.7\.1/);
    await clock.sleep(5 * 3_600_000);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^451 4\.7\.1 .* 300 seconds/);
    assert.match(await say(c, 'RSET'), /^250 /);
    assert.match(await say(c, 'MAIL FROM:<news@lists.trusted.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 2\.1\.5/);
    c.close();
    assert.equal(await metric(t, /^fingerpost_smtp_greylist_total\{result="allowed"\}/), 1);
  });
});
