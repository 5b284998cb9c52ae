// Sender authentication on the MX listener with real signed mail: messages signed by dkimpy
// (Debian python3-dkim), ARC-sealed by dkimpy, and forged ones, delivered with nodemailer and
// swaks; SPF, DKIM and DMARC records come from a loopback DNS server the test starts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { hasAuthres, hasDkimpy, dkimpyArcSeal, dkimpySign, rsaKey } from '../helpers/dkimpy.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { run } from './smtp-helpers.ts';

const skip = peerSkip('python3-dkim', hasDkimpy, 'apt-get install python3-dkim');

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

function message(from: string, subject: string, extraHeaders = '', body = 'Hello from a test.\r\n'): Buffer {
  return Buffer.from(
    `${extraHeaders}From: <${from}>\r\nTo: <bob@example.test>\r\nSubject: ${subject}\r\n` +
      `Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@test>\r\n\r\n${body}`,
  );
}

/** The Authentication-Results field our server put on top, unfolded. */
function ourResults(raw: string): string {
  const m = /^Authentication-Results: localhost;[^\r]*(\r\n[ \t][^\r]*)*/.exec(raw);
  assert.ok(m, `message starts with our Authentication-Results:\n${raw.slice(0, 600)}`);
  return m[0].replace(/\r\n[ \t]+/g, ' ');
}

describe('MX sender authentication (SPF, DKIM, ARC, DMARC) with dkimpy-signed mail', { skip }, () => {
  let t: TestServer;
  let dns: TestDns;
  const key = rsaKey();
  const listKey = rsaKey();
  const arcKey = rsaKey();
  let send: (from: string, raw: Buffer) => Promise<string>;

  before(async () => {
    dns = await startTestDns();
    dns.set('sel._domainkey.signed.test', 'TXT', [key.txt]);
    dns.set('signed.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('_dmarc.signed.test', 'TXT', ['v=DMARC1; p=reject']);
    dns.set('evil.test', 'TXT', ['v=spf1 -all']);
    dns.set('list.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('lists._domainkey.list.test', 'TXT', [listKey.txt]);
    dns.set('arc._domainkey.relay.test', 'TXT', [arcKey.txt]);
    dns.set('relay.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('quarantine.test', 'TXT', ['v=spf1 -all']);
    dns.set('_dmarc.quarantine.test', 'TXT', ['v=DMARC1; p=quarantine']);
    dns.fail('broken.test');
    dns.hang('slow.test');
    t = await startTestServer({
      domain: 'example.test',
      overrides: { inbound: { dns_servers: [dns.server], dns_timeout: '2s', check_timeout: '10s', received_spf: true } },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.smtp,
      secure: false,
      ignoreTLS: true,
      name: 'mx.sender.test',
    });
    send = async (from, raw) => (await transport.sendMail({ envelope: { from, to: ['bob@example.test'] }, raw })).response;
  });
  after(async () => {
    await t?.close();
    await dns?.close();
  });

  test('a dkimpy-signed message from an SPF-authorized host passes SPF, DKIM and DMARC and reaches the INBOX', async () => {
    const signed = dkimpySign(message('alice@signed.test', 'signed one'), { selector: 'sel', domain: 'signed.test', key });
    assert.match(await send('alice@signed.test', signed), /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: signed one'));
    assert.ok(raw);
    const ar = ourResults(raw);
    assert.match(ar, /dkim=pass [^;]*header\.i=@signed\.test/);
    assert.match(ar, /spf=pass [^;]*smtp\.mailfrom=\S*signed\.test/);
    assert.match(ar, /dmarc=pass [^;]*header\.from=signed\.test/);
    assert.match(raw, /\r\nReceived-SPF: pass /);
    // AR sits above our Received field (RFC 8601 §5), the signed part is untouched
    assert.ok(raw.indexOf('Authentication-Results:') < raw.indexOf('Received: from mx.sender.test'));
    assert.ok(raw.includes(signed.toString('utf8')));
  });

  test('a forged author under DMARC p=reject gets 550 5.7.1 at the end of DATA (swaks) and is stored nowhere', async (tc) => {
    const swaksSkip = commandSkip('swaks', 'swaks', ['--version']);
    if (swaksSkip) return tc.skip(swaksSkip);
    const r = await run(
      'swaks',
      [
        '--server',
        `127.0.0.1:${t.ports.smtp}`,
        '--helo',
        'mx.evil.test',
        '--from',
        'attacker@evil.test',
        '--to',
        'bob@example.test',
        '--data',
        '-',
      ],
      message('ceo@signed.test', 'pay this invoice').toString('utf8'),
    );
    assert.match(r.stdout, /<\*\*\s+550 5\.7\.1 .*DMARC/);
    const all = [...(await mailboxOf(t, 'bob@example.test', 'INBOX')), ...(await mailboxOf(t, 'bob@example.test', 'Junk'))];
    assert.ok(!all.some((m) => m.includes('pay this invoice')));
  });

  test('DMARC p=quarantine failing goes to Junk with dmarc=fail', async () => {
    assert.match(await send('bulk@evil.test', message('news@quarantine.test', 'quarantined')), /^250 /);
    assert.ok(!(await mailboxOf(t, 'bob@example.test', 'INBOX')).some((m) => m.includes('Subject: quarantined')));
    const raw = (await mailboxOf(t, 'bob@example.test', 'Junk')).find((m) => m.includes('Subject: quarantined'));
    assert.ok(raw, 'filed in Junk');
    assert.match(ourResults(raw), /dmarc=fail [^;]*header\.from=quarantine\.test/);
    assert.match(ourResults(raw), /spf=fail /);
  });

  test('a body changed after signing fails DKIM; forged results of our id are removed, others kept', async () => {
    const signed = dkimpySign(message('alice@signed.test', 'tampered', '', 'Original text.\r\n'), {
      selector: 'sel',
      domain: 'signed.test',
      key,
    }).toString('utf8');
    const tampered = Buffer.from(
      'Authentication-Results: localhost; dkim=pass header.d=signed.test (forged)\r\n' +
        'Authentication-Results: other.example;\r\n spf=pass smtp.mailfrom=alice@signed.test\r\n' +
        signed.replace('Original text.', 'Changed text!!'),
    );
    // SPF passes and aligns with the author, so DMARC passes and the message is delivered
    assert.match(await send('alice@signed.test', tampered), /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: tampered'));
    assert.ok(raw);
    const ar = ourResults(raw);
    assert.match(ar, /dkim=(fail|neutral) [^;]*header\.i=@signed\.test/);
    assert.match(ar, /dmarc=pass /);
    assert.ok(!raw.includes('(forged)'), 'the forged field of our authserv-id is gone');
    assert.match(raw, /\r\nAuthentication-Results: other\.example;\r\n spf=pass/);
    assert.equal(raw.match(/^Authentication-Results: localhost/gm)?.length, 1);
  });

  test('a 6 MB signed message is verified in the checks thread (body hash over shared memory)', async () => {
    const body = `${'All work and no play makes a long message. '.repeat(2)}\r\n`.repeat(70_000);
    const signed = dkimpySign(message('alice@signed.test', 'large signed', '', body), { selector: 'sel', domain: 'signed.test', key });
    assert.ok(signed.length > 6_000_000);
    assert.match(await send('alice@signed.test', signed), /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: large signed'));
    assert.ok(raw);
    assert.match(ourResults(raw), /dkim=pass [^;]*header\.i=@signed\.test/);
  });

  test('every DKIM signature is verified and reported', async () => {
    const once = dkimpySign(message('alice@signed.test', 'two signatures'), { selector: 'sel', domain: 'signed.test', key });
    const twice = dkimpySign(once, { selector: 'lists', domain: 'list.test', key: listKey });
    assert.match(await send('bounces@list.test', twice), /^250 /);
    const raw = (await mailboxOf(t, 'bob@example.test', 'INBOX')).find((m) => m.includes('Subject: two signatures'));
    assert.ok(raw);
    const ar = ourResults(raw);
    assert.match(ar, /dkim=pass [^;]*header\.i=@signed\.test/);
    assert.match(ar, /dkim=pass [^;]*header\.i=@list\.test/);
  });

  test('an ARC set sealed by dkimpy verifies (arc=pass)', {
    skip: peerSkip('python3-authres', hasAuthres, 'apt-get install python3-authres'),
  }, async () => {
    const original = message(
      'alice@plain.test',
      'via relay',
      'Authentication-Results: relay.test; spf=pass smtp.mailfrom=alice@plain.test\r\n',
    );
    const sealed = dkimpyArcSeal(original, { selector: 'arc', domain: 'relay.test', key: arcKey, srvId: 'relay.test' });
    assert.match(sealed.toString('utf8'), /^ARC-Seal: /m);
    assert.match(await send('forwarder@relay.test', sealed), /^250 /);
    const raw = [...(await mailboxOf(t, 'bob@example.test', 'INBOX')), ...(await mailboxOf(t, 'bob@example.test', 'Junk'))].find((m) =>
      m.includes('Subject: via relay'),
    );
    assert.ok(raw);
    assert.match(ourResults(raw), /arc=pass /);
  });

  test('DNS failure (SERVFAIL) or silence yields temperror, and the message is still accepted', async () => {
    assert.match(await send('someone@broken.test', message('someone@broken.test', 'servfail')), /^250 /);
    assert.match(await send('someone@slow.test', message('someone@slow.test', 'no answer')), /^250 /);
    const inbox = await mailboxOf(t, 'bob@example.test', 'INBOX');
    for (const subject of ['servfail', 'no answer']) {
      const raw = inbox.find((m) => m.includes(`Subject: ${subject}`));
      assert.ok(raw, subject);
      assert.match(ourResults(raw), /spf=temperror /, subject);
    }
    assert.ok(dns.queries.includes('TXT slow.test'));
  });
});
