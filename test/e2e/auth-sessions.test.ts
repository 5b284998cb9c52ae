// Live sessions end when their credential goes away: an IMAP session (imapflow
// and a raw client), an SMTP submission session and a POP3 session are ended with the protocol's
// own goodbye when the admin CLI — another process — revokes the app password, changes the
// password, disables the account or revokes the session; a token session ends when the token expires.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { encodeBase64 } from '../../src/auth/sasl/base64.ts';
import { encodePlain } from '../../src/auth/sasl/plain.ts';
import { encodeXOAuth2 } from '../../src/auth/sasl/xoauth2.ts';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { IssuerFixture } from '../unit/auth/issuer-fixture.ts';

describe('sessions end when their credential is revoked', () => {
  let t: TestServer;
  let idp: IssuerFixture;
  const open: LineClient[] = [];

  before(async () => {
    idp = await new IssuerFixture().start();
    // A token is accepted until exp + auth.leeway, and its session ends then: a short leeway keeps the expiry test short.
    t = await startTestServer({ overrides: { auth: { issuers: [{ issuer: idp.issuer }], events_poll: '200ms', leeway: '1s' } } });
  });
  after(async () => {
    for (const c of open) c.close();
    await t?.close();
    await idp?.close();
  });

  const cli = (...args: string[]) => runCli(['admin', ...args, '--data', t.dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });

  async function user(name: string): Promise<{ address: string; password: string }> {
    const address = `${name}@example.test`;
    const password = `${name}-password-123`;
    await t.services.accounts.addUser({ address, password });
    return { address, password };
  }

  async function appPassword(address: string, protocols: string[]): Promise<{ id: number; secret: string }> {
    const { info, secret } = await t.services.accounts.createAppPassword({
      address,
      name: `dev-${protocols.join('-')}`,
      protocols,
      expiresAt: null,
    });
    return { id: info.id, secret };
  }

  async function imapLogin(address: string, secret: string): Promise<LineClient> {
    const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    open.push(c);
    await c.until(/^\* OK/);
    c.write(`a1 AUTHENTICATE PLAIN ${encodeBase64(encodePlain({ authcid: address, password: secret }))}\r\n`);
    const lines = await c.until(/^a1 /);
    assert.match(lines.at(-1)!, /^a1 OK/);
    return c;
  }

  it('an IMAP session (imapflow) ends when its app password is revoked by the admin CLI', async () => {
    const u = await user('ivy');
    const app = await appPassword(u.address, ['imap']);
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: u.address, pass: app.secret },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    await client.mailboxOpen('INBOX');
    const closed = once(client, 'close');
    const r = await cli('app-password', 'revoke', u.address, String(app.id));
    assert.equal(r.code, 0, r.stderr);
    await closed;
    assert.equal(client.usable, false);
  });

  it('a raw IMAP session gets "* BYE Access was revoked"; another session of the account stays', async () => {
    const u = await user('jay');
    const app = await appPassword(u.address, ['imap']);
    const revoked = await imapLogin(u.address, app.secret);
    const other = await imapLogin(u.address, u.password);
    await cli('app-password', 'revoke', u.address, String(app.id));
    assert.match((await revoked.until(/^\* BYE/, 10_000)).at(-1)!, /^\* BYE Access was revoked/);
    await revoked.closedByPeer();
    other.write('a2 NOOP\r\n');
    assert.match((await other.until(/^a2 /)).at(-1)!, /^a2 OK/);
  });

  it('an SMTP submission session gets 421 when its app password is revoked', async () => {
    const u = await user('kim');
    const app = await appPassword(u.address, ['smtp']);
    const c = await LineClient.connect(t.ports.submissions, { tls: true, ca: t.ca });
    open.push(c);
    await c.until(/^220 /);
    c.write('EHLO client.test\r\n');
    await c.until(/^250 /);
    c.write(`AUTH PLAIN ${encodeBase64(encodePlain({ authcid: u.address, password: app.secret }))}\r\n`);
    assert.match((await c.until(/^\d{3} /)).at(-1)!, /^235 /);
    await cli('app-password', 'revoke', u.address, String(app.id));
    assert.match((await c.until(/^421 /, 10_000)).at(-1)!, /^421 4\.7\.0/);
    await c.closedByPeer();
  });

  it('admin session list shows a POP3 session and admin session revoke ends it with -ERR', async () => {
    const u = await user('lou');
    const c = await LineClient.connect(t.ports.pop3s, { tls: true, ca: t.ca });
    open.push(c);
    await c.until(/^\+OK/);
    c.write(`USER ${u.address}\r\n`);
    await c.until(/^\+OK/);
    c.write(`PASS ${u.password}\r\n`);
    assert.match((await c.until(/^[+-]/)).at(-1)!, /^\+OK/);
    let listed: { id: string; protocol: string; method: string } | undefined;
    for (let i = 0; i < 50 && !listed; i++) {
      const r = await cli('session', 'list', '--account', u.address, '--json');
      listed = r.stdout.trim() ? JSON.parse(r.stdout.trim().split('\n')[0]!) : undefined;
      if (!listed) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(listed?.protocol, 'pop3');
    assert.equal(listed?.method, 'password');
    const table = await cli('session', 'list');
    assert.match(table.stdout, new RegExp(`${listed!.id}\\s+${u.address}\\s+pop3\\s+pop3s\\s+127\\.0\\.0\\.1\\s+password`));
    const r = await cli('session', 'revoke', listed!.id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ending session/);
    assert.match((await c.until(/^-ERR/, 10_000)).at(-1)!, /^-ERR \[AUTH\] Session ended \(admin\)/);
    const gone = await cli('session', 'revoke', listed!.id);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no live session/);
  });

  it('a password change ends password sessions; disabling the account ends the rest', async () => {
    const u = await user('max');
    const app = await appPassword(u.address, ['imap']);
    const byPassword = await imapLogin(u.address, u.password);
    const byApp = await imapLogin(u.address, app.secret);
    const r = await runCli(['admin', 'user', 'passwd', u.address, '--password-stdin', '--data', t.dataDir], {
      input: 'a-brand-new-password\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match((await byPassword.until(/^\* BYE/, 10_000)).at(-1)!, /^\* BYE Credentials changed/);
    byApp.write('a3 NOOP\r\n');
    assert.match((await byApp.until(/^a3 /)).at(-1)!, /^a3 OK/);
    await cli('user', 'disable', u.address);
    assert.match((await byApp.until(/^\* BYE/, 10_000)).at(-1)!, /^\* BYE Account disabled/);
  });

  it('a session signed in with a token ends when the token expires (auth.end_session_on_expiry)', async () => {
    const u = await user('ned');
    const token = await idp.sign({
      email: u.address,
      aud: resourceIds(t.config).imap,
      scope: SCOPES.mail,
      exp: Math.floor(Date.now() / 1000) + 3,
    });
    const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    open.push(c);
    await c.until(/^\* OK/);
    c.write(`a1 AUTHENTICATE XOAUTH2 ${encodeBase64(encodeXOAuth2({ user: u.address, token }))}\r\n`);
    assert.match((await c.until(/^a1 /)).at(-1)!, /^a1 OK/);
    assert.match((await c.until(/^\* BYE/, 15_000)).at(-1)!, /^\* BYE \[EXPIRED\]/);
  });
});
