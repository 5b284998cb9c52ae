import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, replyOf, run, starttls } from './smtp-helpers.ts';

const PASSWORD = 'correct horse battery staple';

describe('SMTP submission with real clients', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: 'alice@example.test', password: PASSWORD });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: PASSWORD });
    await t.services.accounts.addAlias('alice.smith@example.test', 'alice@example.test');
  });
  after(() => t.close());

  test('nodemailer submits over implicit TLS with PLAIN; the local recipient has it with a Received header', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: 'alice@example.test', pass: PASSWORD, method: 'PLAIN' },
    });
    const info = await transport.sendMail({
      from: 'alice.smith@example.test',
      to: 'bob@example.test',
      subject: 'nodemailer PLAIN',
      text: 'Hello Bob\n.leading dot line\n',
    });
    assert.deepEqual(info.accepted, ['bob@example.test']);
    const inbox = await inboxOf(t, 'bob@example.test');
    const msg = inbox.find((m) => m.includes('Subject: nodemailer PLAIN'));
    assert.ok(msg, 'delivered to bob');
    assert.match(
      msg,
      /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby localhost with ESMTPSA \(using TLSv1\.3 with cipher [A-Z0-9_]+\) id \S+\r\n\tfor <bob@example\.test>; \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/,
    );
    assert.match(msg, /\r\n\.leading dot line\r\n/);
    transport.close();
  });

  test('swaks with PLAIN and LOGIN over STARTTLS', { skip: commandSkip('swaks', 'swaks', ['--version']) }, async () => {
    for (const mech of ['PLAIN', 'LOGIN']) {
      const r = await run('swaks', [
        '--server',
        `127.0.0.1:${t.ports.submission}`,
        '--tls',
        '--auth',
        mech,
        '--auth-user',
        'alice@example.test',
        '--auth-password',
        PASSWORD,
        '--from',
        'alice@example.test',
        '--to',
        'bob@example.test',
        '--header',
        `Subject: swaks ${mech}`,
        '--body',
        'via swaks',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /<~ {2}235 2\.7\.0 Authentication successful/);
      assert.match(r.stdout, /<~ {2}250 2\.0\.0 Ok: queued as/);
    }
    const inbox = await inboxOf(t, 'bob@example.test');
    assert.ok(inbox.some((m) => m.includes('Subject: swaks PLAIN')));
    assert.ok(inbox.some((m) => m.includes('Subject: swaks LOGIN')));
  });

  test('swaks with a wrong password gets 535 5.7.8', { skip: commandSkip('swaks', 'swaks', ['--version']) }, async () => {
    const r = await run('swaks', [
      '--server',
      `127.0.0.1:${t.ports.submission}`,
      '--tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      'alice@example.test',
      '--auth-password',
      'wrong',
      '--from',
      'alice@example.test',
      '--to',
      'bob@example.test',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /<~\* 535 5\.7\.8/);
  });

  test('Python smtplib: STARTTLS, login, send_message', { skip: commandSkip('python3', 'python3') }, async () => {
    const script = `
import smtplib, ssl, sys
from email.message import EmailMessage
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo('py.test')
assert 'auth' not in s.esmtp_features, 'AUTH offered before TLS'
s.starttls(context=ctx)
s.ehlo('py.test')
assert 'PLAIN' in s.esmtp_features['auth'], s.esmtp_features
s.login('alice@example.test', sys.argv[3])
m = EmailMessage()
m['From'] = 'alice@example.test'
m['To'] = 'bob@example.test'
m['Subject'] = 'smtplib'
m.set_content('caf\\u00e9 au lait\\n')
print(s.send_message(m))
s.quit()
`;
    const r = await run('python3', ['-c', script, String(t.ports.submission), t.caFile, PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '{}');
    const inbox = await inboxOf(t, 'bob@example.test');
    const msg = inbox.find((m) => m.includes('Subject: smtplib'));
    assert.ok(msg);
    assert.match(msg, /^Received: [^\r]*\r\n\tby localhost with ESMTPSA/);
  });

  test('curl submits over smtp:// with STARTTLS required and over smtps://', { skip: commandSkip('curl', 'curl') }, async () => {
    const file = path.join(t.dataDir, 'curl-mail.txt');
    await writeFile(file, 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: curl upload\r\n\r\nsent by curl\r\n');
    for (const url of [`smtp://127.0.0.1:${t.ports.submission}`, `smtps://127.0.0.1:${t.ports.submissions}`]) {
      const r = await run('curl', [
        '-sS',
        '--ssl-reqd',
        '--cacert',
        t.caFile,
        '--resolve',
        `localhost:${url.endsWith(String(t.ports.submission)) ? t.ports.submission : t.ports.submissions}:127.0.0.1`,
        '--url',
        url.replace('127.0.0.1', 'localhost'),
        '--user',
        `alice@example.test:${PASSWORD}`,
        '--mail-from',
        'alice@example.test',
        '--mail-rcpt',
        'bob@example.test',
        '-T',
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const inbox = await inboxOf(t, 'bob@example.test');
    assert.equal(inbox.filter((m) => m.includes('Subject: curl upload')).length, 2);
  });

  test('no AUTH before STARTTLS, MAIL needs TLS and AUTH, a second AUTH is refused', async () => {
    let c = await LineClient.connect(t.ports.submission);
    assert.match(await replyOf(c), /^220 /);
    c.write('EHLO raw.test\r\n');
    const ehlo = await replyOf(c);
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.match(ehlo, /250-STARTTLS|250 STARTTLS/);
    c.write('AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNz\r\n');
    assert.match(await replyOf(c), /^530 5\.7\.0 Must issue a STARTTLS command first/);
    c.write('MAIL FROM:<alice@example.test>\r\n');
    assert.match(await replyOf(c), /^530 5\.7\.0/);
    c = await starttls(c, t.ca);
    c.write('MAIL FROM:<alice@example.test>\r\n');
    assert.match(await replyOf(c), /^503 5\.5\.1 Send EHLO first/);
    c.write('EHLO raw.test\r\n');
    const ehlo2 = await replyOf(c);
    assert.match(ehlo2, /250[- ]AUTH PLAIN LOGIN/);
    assert.doesNotMatch(ehlo2, /STARTTLS/);
    c.write('MAIL FROM:<alice@example.test>\r\n');
    assert.match(await replyOf(c), /^530 5\.7\.0 Authentication required/);
    const plain = Buffer.from(`\0alice@example.test\0${PASSWORD}`).toString('base64');
    c.write(`AUTH PLAIN ${plain}\r\n`);
    assert.match(await replyOf(c), /^235 2\.7\.0/);
    c.write(`AUTH PLAIN ${plain}\r\n`);
    assert.match(await replyOf(c), /^503 5\.5\.1 Already authenticated/);
    c.write('MAIL FROM:<bob@example.test>\r\n');
    assert.match(await replyOf(c), /^553 5\.7\.1 Sender address not owned/);
    c.write('MAIL FROM:<ALICE.smith@example.test>\r\n');
    assert.match(await replyOf(c), /^250 2\.1\.0/);
    c.write('QUIT\r\n');
    assert.match(await replyOf(c), /^221 /);
    c.close();
  });

  test('AUTH PLAIN without an initial response uses an empty 334 continuation; * cancels with 501', async () => {
    let c = await LineClient.connect(t.ports.submission);
    await replyOf(c);
    c.write('EHLO raw.test\r\n');
    await replyOf(c);
    c = await starttls(c, t.ca);
    c.write('EHLO raw.test\r\n');
    await replyOf(c);
    c.write('AUTH PLAIN\r\n');
    assert.equal(await c.line(), '334 ');
    c.write('*\r\n');
    assert.match(await replyOf(c), /^501 /);
    c.write('AUTH PLAIN\r\n');
    assert.equal(await c.line(), '334 ');
    c.write('not base64!\r\n');
    assert.match(await replyOf(c), /^501 5\.5\.2/);
    c.write('AUTH CRAM-MD5\r\n');
    assert.match(await replyOf(c), /^504 5\.5\.4/);
    c.write('AUTH PLAIN\r\n');
    assert.equal(await c.line(), '334 ');
    c.write(`${Buffer.from(`\0alice@example.test\0${PASSWORD}`).toString('base64')}\r\n`);
    assert.match(await replyOf(c), /^235 /);
    c.close();
  });

  test('pipelined commands after STARTTLS are discarded, not executed after the handshake', async () => {
    const c = await LineClient.connect(t.ports.submission);
    await replyOf(c);
    c.write('EHLO raw.test\r\n');
    await replyOf(c);
    c.write('STARTTLS\r\nMAIL FROM:<alice@example.test>\r\n');
    assert.match(await replyOf(c), /^220 /);
    const tls = await import('node:tls');
    const secure = tls.connect({ socket: c.socket, ca: t.ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    c.socket.removeAllListeners('data');
    const s = new LineClient(secure);
    s.write('NOOP\r\n');
    // The first thing after the handshake answers our NOOP, not the injected MAIL.
    assert.equal(await s.line(), '250 2.0.0 Ok');
    s.close();
  });
});

describe('per-account sending limits', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      domain: 'example.test',
      overrides: { submission: { max_messages_per_hour: 2, max_recipients_per_hour: 3 } },
    });
    await t.services.accounts.addUser({ address: 'mia@example.test', password: PASSWORD });
    await t.services.accounts.addUser({ address: 'ned@example.test', password: PASSWORD });
  });
  after(() => t.close());

  test('over the hourly limits MAIL and RCPT get 450 4.7.1; other accounts are not affected', async () => {
    const transport = (user: string) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port: t.ports.submissions,
        secure: true,
        tls: { ca: t.ca, servername: 'localhost' },
        auth: { user, pass: PASSWORD },
      });
    const mia = transport('mia@example.test');
    await mia.sendMail({ from: 'mia@example.test', to: ['ned@example.test', 'x@remote.example'], subject: '1', text: '1' });
    // the second recipient would make 4 of 3 allowed: refused, the first is accepted
    const partial = await mia.sendMail({ from: 'mia@example.test', to: ['y@remote.example', 'z@remote.example'], subject: '2', text: '2' });
    assert.deepEqual(partial.accepted, ['y@remote.example']);
    assert.deepEqual(partial.rejected, ['z@remote.example']);
    assert.match(
      String((partial as { rejectedErrors?: Array<{ response?: string }> }).rejectedErrors?.[0]?.response),
      /^450 4\.7\.1 .*recipients per hour/,
    );
    // two messages sent: the third is refused at MAIL
    await assert.rejects(
      mia.sendMail({ from: 'mia@example.test', to: 'ned@example.test', subject: '3', text: '3' }),
      (err: Error & { responseCode?: number; response?: string }) =>
        err.responseCode === 450 && /4\.7\.1 .*messages per hour/.test(err.response ?? ''),
    );
    mia.close();
    const ned = transport('ned@example.test');
    const ok = await ned.sendMail({ from: 'ned@example.test', to: 'mia@example.test', subject: 'ned', text: 'n' });
    assert.deepEqual(ok.accepted, ['mia@example.test']);
    ned.close();
  });
});
