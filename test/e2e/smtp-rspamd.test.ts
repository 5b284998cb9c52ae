// Spam filtering with a real rspamd (Debian package) started by the test on loopback: GTUBE is
// refused, a message over the add-header score goes to Junk with X-Spam-* fields, forged X-Spam-*
// fields are removed, and a dead rspamd means accept-and-tag or 451 as configured. Mail is sent
// with nodemailer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { freePorts } from '../helpers/ports.ts';
import { peerSkip } from '../helpers/peers.ts';
import { hasRspamd, startRspamd, type TestRspamd } from '../helpers/rspamd.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

async function mailboxOf(t: TestServer, address: string, name: string): Promise<string[]> {
  const account = await t.services.directory.findByAddress(address);
  const box = await t.services.mail.getMailbox(account!.id, name);
  if (!box) return [];
  const entries = await t.services.mail.listEntries(box.id);
  const messages = await t.services.mail.getMessages(
    account!.id,
    entries.map((e) => e.messageId),
  );
  return Promise.all(messages.map(async (m) => (await t.services.mail.readRaw(m)).toString('utf8')));
}

/** A tidy message (rspamd scores it low); `date: false` leaves out Date (rspamd's MISSING_DATE). */
function message(subject: string, body: string, o: { date?: boolean; extra?: string } = {}): Buffer {
  return Buffer.from(
    `${o.extra ?? ''}From: Alice <alice@sender.test>\r\nTo: Bob <bob@example.test>\r\nSubject: ${subject}\r\n` +
      `${o.date === false ? '' : 'Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n'}Message-ID: <${subject.replace(/\W/g, '')}@sender.test>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
  );
}

function sender(t: TestServer) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.smtp,
    secure: false,
    ignoreTLS: true,
    name: 'mx.sender.test',
  });
  return (raw: Buffer) => transport.sendMail({ envelope: { from: 'alice@sender.test', to: ['bob@example.test'] }, raw });
}

describe('rspamd on the MX listener', { skip: peerSkip('rspamd', hasRspamd, 'apt-get install rspamd') }, () => {
  let dns: TestDns;
  let rspamd: TestRspamd;
  let t: TestServer;
  let send: ReturnType<typeof sender>;

  before(async () => {
    dns = await startTestDns();
    // add header from 0.9: one MISSING_DATE (1.0) is enough, a tidy message scores below
    rspamd = await startRspamd({ dnsServer: dns.server, actions: { addHeader: 0.9, reject: 15 } });
    t = await startTestServer({
      domain: 'example.test',
      overrides: { inbound: { sender_auth: false, rspamd_url: rspamd.url, rspamd_timeout: '10s', rspamd_down: 'accept' } },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
    send = sender(t);
  });
  after(async () => {
    await t?.close();
    await rspamd?.close();
    await dns?.close();
  });

  test('GTUBE is refused with 550 5.7.1 at the end of DATA and stored nowhere', async () => {
    await assert.rejects(send(message('gtube', `This is the GTUBE.\r\n${GTUBE}`)), (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 550);
      assert.match(err.response ?? '', /^550 5\.7\.1 /);
      return true;
    });
    const all = [...(await mailboxOf(t, 'bob@example.test', 'INBOX')), ...(await mailboxOf(t, 'bob@example.test', 'Junk'))];
    assert.ok(!all.some((m) => m.includes('Subject: gtube')));
  });

  test('a tidy message reaches the INBOX with X-Spam-Status: No; forged X-Spam fields are removed', async () => {
    const forged = 'X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100\r\n';
    assert.match((await send(message('tidy', 'Lunch on Friday?', { extra: forged }))).response, /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: tidy'));
    assert.ok(raw, 'in the INBOX');
    assert.match(raw, /^X-Spam-Status: No, score=-?\d+\.\d\d required=15\.00\r\nX-Spam-Score: /);
    assert.match(raw, /\r\nX-Spam-Action: no action\r\n/);
    assert.ok(!raw.includes('score=-100'), 'the sender’s X-Spam-Status is gone');
    assert.equal(raw.match(/^X-Spam-Status:/gm)?.length, 1);
  });

  test('a message over the add-header score goes to Junk, flagged, with its symbols', async () => {
    assert.match((await send(message('no date', 'Where is my date?', { date: false }))).response, /^250 /);
    assert.ok(!(await mailboxOf(t, 'bob@example.test', 'INBOX')).some((m) => m.includes('Subject: no date')));
    const raw = (await mailboxOf(t, 'bob@example.test', 'Junk')).find((m) => m.includes('Subject: no date'));
    assert.ok(raw, 'in Junk');
    assert.match(raw, /^X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=/);
    assert.match(raw, /\r\nX-Spam-Action: add header\r\n/);
    assert.match(raw.replace(/\r\n\t/g, ' '), /\r\nX-Spam-Symbols: [^\r]*MISSING_DATE/);
  });

  test('rspamd down with rspamd_down = accept: delivered, X-Spam-Status: Unknown', async () => {
    await rspamd.close();
    assert.match((await send(message('while down', 'Filter is away.'))).response, /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: while down'));
    assert.ok(raw);
    assert.match(raw, /^X-Spam-Status: Unknown/);
  });
});

describe('rspamd down with rspamd_down = tempfail', () => {
  let t: TestServer;
  before(async () => {
    // a port nothing listens on
    const [dead] = (await freePorts(1)) as [number];
    t = await startTestServer({
      domain: 'example.test',
      overrides: { inbound: { sender_auth: false, rspamd_url: `http://127.0.0.1:${dead}`, rspamd_down: 'tempfail' } },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
  });
  after(() => t?.close());

  test('451 4.7.1 so the sender retries; nothing is stored', async () => {
    await assert.rejects(sender(t)(message('retry me', 'Later.')), (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 451);
      assert.match(err.response ?? '', /^451 4\.7\.1 /);
      return true;
    });
    assert.equal((await mailboxOf(t, 'bob@example.test', 'INBOX')).length, 0);
  });
});
