// Address harvesting over RCPT TO: every unknown local recipient costs a pause (on the server's
// clock, faked here) and a failure in the shared failure limits; a connection that asks for more
// than smtp.max_unknown_recipients gets 421, and a client banned by the failure limits gets 421
// on its next RCPT. Known recipients are answered at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeClock } from '../helpers/clock.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { replyOf } from './smtp-helpers.ts';

async function session(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  assert.match(await replyOf(c), /^220 /);
  c.write('EHLO mx.remote.test\r\nMAIL FROM:<probe@remote.test>\r\n');
  assert.match(await replyOf(c), /^250 /m);
  assert.match(await replyOf(c), /^250 2\.1\.0/);
  return c;
}

async function say(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return replyOf(c);
}

async function metric(t: TestServer, line: RegExp): Promise<number> {
  const text = await (await caFetch(t.ca)(`${t.baseUrl}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(' ') + 1)) : 0;
}

describe('SMTP recipient harvesting', () => {
  let t: TestServer;
  const clock = new FakeClock();
  before(async () => {
    t = await startTestServer({
      domain: 'example.test',
      clock,
      overrides: { smtp: { max_unknown_recipients: 3, unknown_recipient_delay: '2s' }, auth: { limits: { ip_failures: 5 } } },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
  });
  after(() => t.close());

  test('pauses after each unknown recipient and closes the connection after smtp.max_unknown_recipients', async () => {
    const c = await session(t.ports.smtp);
    for (let i = 1; i <= 3; i++) assert.match(await say(c, `RCPT TO:<nobody${i}@example.test>`), /^550 5\.1\.1/);
    assert.deepEqual(clock.sleeps, [2000, 2000, 2000], 'one pause per unknown recipient');
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 2\.1\.5/);
    assert.equal(clock.sleeps.length, 3, 'a known recipient is answered at once');
    assert.match(await say(c, 'RCPT TO:<nobody4@example.test>'), /^421 4\.7\.0 Too many unknown recipients/);
    await c.closedByPeer();
    assert.equal(await metric(t, /^fingerpost_smtp_unknown_recipients_total\{listener="smtp"\}/), 4);
    assert.equal(await metric(t, /^fingerpost_smtp_limit_reached_total\{listener="smtp",limit="unknown_recipients"\}/), 1);
  });

  test('counts unknown recipients in the failure limits: a banned client gets 421 on its next RCPT', async () => {
    // Four failures so far; the fifth bans the address (auth.limits.ip_failures = 5).
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'RCPT TO:<nobody5@example.test>'), /^550 5\.1\.1/);
    assert.match(await say(c, 'QUIT'), /^221 /);
    const banned = await session(t.ports.smtp);
    assert.match(await say(banned, 'RCPT TO:<bob@example.test>'), /^421 4\.7\.0 Too many failures/);
    await banned.closedByPeer();
    assert.equal(await metric(t, /^fingerpost_smtp_limit_reached_total\{listener="smtp",limit="client_banned"\}/), 1);
    assert.equal(await metric(t, /^fingerpost_auth_banned_sources /), 1, 'the failure limits hold the ban');
  });
});
