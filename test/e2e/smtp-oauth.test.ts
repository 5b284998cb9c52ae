// Bearer tokens on SMTP submission and POP3 (RFC 7628 OAUTHBEARER, XOAUTH2): nodemailer, curl
// --oauth2-bearer, and the RFC 7628 §3.2.2 failure exchange by hand. Tokens are RFC 9068 JWTs
// signed here and trusted through a `jwks_file` issuer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import nodemailer from 'nodemailer';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, replyOf, run, starttls } from './smtp-helpers.ts';

const ISSUER = 'https://idp.example.test';
const MAIL_SCOPE = 'urn:ietf:params:oauth:scope:mail';

describe('bearer tokens on SMTP submission and POP3', () => {
  let t: TestServer;
  let dir: string;
  let token: (user: string, aud: string, extra?: Record<string, unknown>) => Promise<string>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-oauth-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    token = (user, aud, extra = {}) =>
      new SignJWT({ scope: MAIL_SCOPE, email: user, client_id: 'tests', ...extra })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(aud)
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime('10m')
        .setJti(randomUUID())
        .sign(privateKey);
    t = await startTestServer({ domain: 'example.test', overrides: { auth: { issuers: [{ issuer: ISSUER, jwks_file: jwksFile }] } } });
    await t.services.accounts.addUser({ address: 'alice@example.test', password: 'alice-password-1' });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'bob-password-12' });
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('nodemailer submits with XOAUTH2', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { type: 'OAuth2', user: 'alice@example.test', accessToken: await token('alice@example.test', 'smtp://localhost') },
    });
    const info = await transport.sendMail({ from: 'alice@example.test', to: 'bob@example.test', subject: 'via XOAUTH2', text: 'x' });
    assert.deepEqual(info.accepted, ['bob@example.test']);
    transport.close();
  });

  test('nodemailer submits with OAUTHBEARER (custom SASL handler building the RFC 7628 message)', async () => {
    const accessToken = await token('alice@example.test', 'smtp://localhost');
    const port = t.ports.submission;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { type: 'custom', method: 'OAUTHBEARER', user: 'alice@example.test', pass: accessToken },
      customAuth: {
        OAUTHBEARER: async (ctx) => {
          const gs2 = `n,a=${ctx.auth.credentials.user},`;
          const msg = `${gs2}\x01host=localhost\x01port=${port}\x01auth=Bearer ${ctx.auth.credentials.pass}\x01\x01`;
          const r = await ctx.sendCommand(`AUTH OAUTHBEARER ${Buffer.from(msg).toString('base64')}`);
          if (r.status === 235) return ctx.resolve();
          return ctx.reject(new Error(r.response));
        },
      },
    });
    const info = await transport.sendMail({ from: 'alice@example.test', to: 'bob@example.test', subject: 'via OAUTHBEARER', text: 'y' });
    assert.deepEqual(info.accepted, ['bob@example.test']);
    transport.close();
    const inbox = await inboxOf(t, 'bob@example.test');
    assert.ok(inbox.some((m) => m.includes('Subject: via OAUTHBEARER')));
  });

  test('a bad token gets the RFC 7628 JSON challenge, the 0x01 dummy response, then 535 5.7.8', async () => {
    let c = await LineClient.connect(t.ports.submission);
    await replyOf(c);
    c.write('EHLO raw.test\r\n');
    assert.doesNotMatch(await replyOf(c), /OAUTHBEARER/);
    c = await starttls(c, t.ca);
    c.write('EHLO raw.test\r\n');
    assert.match(await replyOf(c), /AUTH .*OAUTHBEARER XOAUTH2/);
    const wrongAud = await token('alice@example.test', 'imap://elsewhere');
    const msg = `n,a=alice@example.test,\x01auth=Bearer ${wrongAud}\x01\x01`;
    c.write(`AUTH OAUTHBEARER ${Buffer.from(msg).toString('base64')}\r\n`);
    const challenge = (await c.line())!;
    assert.match(challenge, /^334 /);
    const json = JSON.parse(Buffer.from(challenge.slice(4), 'base64').toString());
    assert.equal(json.status, 'invalid_token');
    c.write('AQ==\r\n');
    assert.match(await replyOf(c), /^535 5\.7\.8/);
    // XOAUTH2 ends with an empty response instead
    const x = `user=alice@example.test\x01auth=Bearer not-a-jwt\x01\x01`;
    c.write(`AUTH XOAUTH2 ${Buffer.from(x).toString('base64')}\r\n`);
    const xc = (await c.line())!;
    assert.match(xc, /^334 /);
    assert.equal(JSON.parse(Buffer.from(xc.slice(4), 'base64').toString()).status, '401');
    c.write('\r\n');
    assert.match(await replyOf(c), /^535 5\.7\.8/);
    // and a good one still works in the same session
    const good = `n,a=alice@example.test,\x01auth=Bearer ${await token('alice@example.test', 'smtp://localhost')}\x01\x01`;
    c.write('AUTH OAUTHBEARER\r\n');
    assert.equal(await c.line(), '334 ');
    c.write(`${Buffer.from(good).toString('base64')}\r\n`);
    assert.match(await replyOf(c), /^235 2\.7\.0/);
    c.close();
  });

  test('curl --oauth2-bearer over smtp:// with STARTTLS and smtps://, OAUTHBEARER and XOAUTH2', {
    skip: commandSkip('curl', 'curl'),
  }, async () => {
    const file = path.join(dir, 'mail.txt');
    await writeFile(file, 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: curl bearer\r\n\r\nhello\r\n');
    const accessToken = await token('alice@example.test', 'smtp://localhost');
    const cases: Array<[string, number, string]> = [
      ['smtp', t.ports.submission, 'AUTH=OAUTHBEARER'],
      ['smtps', t.ports.submissions, 'AUTH=OAUTHBEARER'],
      ['smtps', t.ports.submissions, 'AUTH=XOAUTH2'],
    ];
    for (const [scheme, port, login] of cases) {
      const r = await run('curl', [
        '-sS',
        '--ssl-reqd',
        '--cacert',
        t.caFile,
        '--resolve',
        `localhost:${port}:127.0.0.1`,
        '--url',
        `${scheme}://localhost:${port}`,
        '--user',
        'alice@example.test:',
        '--oauth2-bearer',
        accessToken,
        '--login-options',
        login,
        '--mail-from',
        'alice@example.test',
        '--mail-rcpt',
        'bob@example.test',
        '-T',
        file,
      ]);
      assert.equal(r.code, 0, `${scheme} ${login}: ${r.stderr}`);
    }
    const inbox = await inboxOf(t, 'bob@example.test');
    assert.equal(inbox.filter((m) => m.includes('Subject: curl bearer')).length, 3);
  });

  test('end to end: submitted to a local user, then read over POP3 with curl pop3s:// and a bearer token', {
    skip: commandSkip('curl', 'curl'),
  }, async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { type: 'OAuth2', user: 'alice@example.test', accessToken: await token('alice@example.test', 'smtp://localhost') },
    });
    await transport.sendMail({ from: 'alice@example.test', to: 'bob@example.test', subject: 'read me over POP3', text: 'end to end\n' });
    transport.close();
    const popToken = await token('bob@example.test', 'pop3://localhost');
    const base = [
      '-sS',
      '--cacert',
      t.caFile,
      '--resolve',
      `localhost:${t.ports.pop3s}:127.0.0.1`,
      '--user',
      'bob@example.test:',
      '--oauth2-bearer',
      popToken,
    ];
    const list = await run('curl', [...base, `pop3s://localhost:${t.ports.pop3s}/`]);
    assert.equal(list.code, 0, list.stderr);
    const n = list.stdout.trim().split(/\r?\n/).length;
    const msg = await run('curl', [...base, `pop3s://localhost:${t.ports.pop3s}/${n}`]);
    assert.equal(msg.code, 0, msg.stderr);
    assert.match(msg.stdout, /Subject: read me over POP3/);
    assert.match(msg.stdout, /^Received: from .*\r\n\tby localhost with ESMTPSA/);
  });

  test('POP3 AUTH XOAUTH2: a good token opens the maildrop; a bad one gets the JSON challenge, then -ERR [AUTH]', async () => {
    const xoauth2 = (user: string, tok: string) => Buffer.from(`user=${user}\x01auth=Bearer ${tok}\x01\x01`).toString('base64');
    const bad = await LineClient.connect(t.ports.pop3s, { tls: true, ca: t.ca });
    assert.match((await bad.line())!, /^\+OK/);
    bad.write(`AUTH XOAUTH2 ${xoauth2('bob@example.test', await token('bob@example.test', 'imap://localhost'))}\r\n`);
    const challenge = (await bad.line())!;
    assert.match(challenge, /^\+ /);
    assert.equal(JSON.parse(Buffer.from(challenge.slice(2), 'base64').toString()).status, '401');
    bad.write('\r\n');
    assert.match((await bad.line())!, /^-ERR \[AUTH\]/);
    bad.close();
    const c = await LineClient.connect(t.ports.pop3s, { tls: true, ca: t.ca });
    assert.match((await c.line())!, /^\+OK/);
    c.write(`AUTH XOAUTH2 ${xoauth2('bob@example.test', await token('bob@example.test', 'pop3://localhost'))}\r\n`);
    assert.match((await c.line())!, /^\+OK /);
    c.write('QUIT\r\n');
    assert.match((await c.line())!, /^\+OK/);
  });

  test('POP3 AUTH OAUTHBEARER with a long token uses the continuation line (RFC 5034 §4)', async () => {
    const c = await LineClient.connect(t.ports.pop3s, { tls: true, ca: t.ca });
    assert.match((await c.line())!, /^\+OK/);
    const big = await token('bob@example.test', 'pop3://localhost', { padding: 'x'.repeat(3000) });
    const ir = Buffer.from(`n,a=bob@example.test,\x01auth=Bearer ${big}\x01\x01`).toString('base64');
    assert.ok(ir.length > 255);
    c.write('AUTH OAUTHBEARER\r\n');
    assert.equal(await c.line(), '+ ');
    c.write(`${ir}\r\n`);
    assert.match((await c.line())!, /^\+OK /);
    c.write('QUIT\r\n');
    assert.match((await c.line())!, /^\+OK/);
  });
});
