// One rule for token edge cases on every protocol (docs/authentication.md "Token lifetime and
// host"): the same tokens over real IMAP, POP3, SMTP submission and JMAP connections. A token
// inside the clock-skew leeway is served everywhere until exp + leeway (IMAP does not accept it
// and then say BYE at once); a token without `exp` or with `iat` in the future is refused
// everywhere and never called expired; OAUTHBEARER `host=` must name the address connected to.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeBase64 } from '../../src/auth/sasl/base64.ts';
import { encodeOAuthBearer } from '../../src/auth/sasl/oauthbearer.ts';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { IssuerFixture } from '../unit/auth/issuer-fixture.ts';

const ALICE = 'alice@example.test';
const nowSec = () => Math.floor(Date.now() / 1000);

describe('token rules are the same on every protocol', () => {
  let t: TestServer;
  let idp: IssuerFixture;
  const open: LineClient[] = [];

  before(async () => {
    idp = await new IssuerFixture().start();
    // auth.leeway keeps its default (60 s); the many refusals here are not an attack to slow down.
    t = await startTestServer({ overrides: { auth: { issuers: [{ issuer: idp.issuer }], limits: { exempt: ['127.0.0.0/8'] } } } });
    await t.services.accounts.addUser({ address: ALICE, password: 'alice password 123' });
  });
  after(async () => {
    for (const c of open) c.close();
    await t?.close();
    await idp?.close();
  });

  const sign = (claims: Record<string, unknown>) => {
    const ids = resourceIds(t.config);
    return idp.sign({ email: ALICE, aud: [ids.imap, ids.pop3, ids.smtp, ids.jmap], scope: SCOPES.mail, ...claims });
  };
  const ir = (token: string, extra: { host?: string; port?: number } = {}) =>
    encodeBase64(encodeOAuthBearer({ authzid: ALICE, token, ...extra }));

  async function connect(port: number): Promise<LineClient> {
    const c = await LineClient.connect(port, { tls: true, ca: t.ca });
    open.push(c);
    return c;
  }

  /** IMAP AUTHENTICATE OAUTHBEARER; answers an RFC 7628 error challenge with the dummy response. */
  async function imapAuth(token: string, extra: { host?: string; port?: number } = {}): Promise<{ c: LineClient; tagged: string }> {
    const c = await connect(t.ports.imaps);
    await c.until(/^\* OK/);
    c.write(`a1 AUTHENTICATE OAUTHBEARER ${ir(token, extra)}\r\n`);
    const seen: string[] = [];
    for (;;) {
      const line = await c.line();
      if (line === undefined) throw new Error(`the server closed the connection after ${JSON.stringify(seen)}`);
      seen.push(line);
      if (line.startsWith('+ ')) c.write('AQ==\r\n');
      else if (line.startsWith('a1 ')) return { c, tagged: line };
    }
  }

  async function pop3Auth(token: string): Promise<{ c: LineClient; answer: string }> {
    const c = await connect(t.ports.pop3s);
    await c.until(/^\+OK/);
    c.write(`AUTH OAUTHBEARER ${ir(token)}\r\n`);
    for (;;) {
      const line = (await c.line())!;
      if (line.startsWith('+ ')) c.write('AQ==\r\n');
      else return { c, answer: line };
    }
  }

  async function smtpAuth(token: string): Promise<{ c: LineClient; answer: string }> {
    const c = await connect(t.ports.submissions);
    await c.until(/^220 /);
    c.write('EHLO client.test\r\n');
    await c.until(/^250 /);
    c.write(`AUTH OAUTHBEARER ${ir(token)}\r\n`);
    for (;;) {
      const line = (await c.line())!;
      if (line.startsWith('334 ')) c.write('AQ==\r\n');
      else return { c, answer: line };
    }
  }

  async function jmap(token: string): Promise<{ status: number; challenge: string }> {
    const res = await caFetch(t.ca)(`${t.baseUrl}/jmap/session`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '' };
  }

  it('a token inside the leeway is served on every protocol, and IMAP does not end the session at once', async () => {
    const token = await sign({ exp: nowSec() - 5 });

    const { c: imap, tagged } = await imapAuth(token);
    assert.match(tagged, /^a1 OK/);
    imap.write('a2 NOOP\r\n');
    const after = await imap.until(/^a2 |^\* BYE/);
    assert.match(after.at(-1)!, /^a2 OK/, `the session goes on: ${after.join(' | ')}`);

    const pop3 = await pop3Auth(token);
    assert.match(pop3.answer, /^\+OK/);
    pop3.c.write('STAT\r\n');
    assert.match((await pop3.c.line())!, /^\+OK/);

    const smtp = await smtpAuth(token);
    assert.match(smtp.answer, /^235 /);
    smtp.c.write('NOOP\r\n');
    assert.match((await smtp.c.line())!, /^250 /);

    assert.equal((await jmap(token)).status, 200);
  });

  it('a token past exp + leeway is expired everywhere: IMAP says [EXPIRED], JMAP 401 "expired"', async () => {
    const token = await sign({ exp: nowSec() - 120 });
    assert.match((await imapAuth(token)).tagged, /^a1 NO \[EXPIRED\]/);
    assert.match((await pop3Auth(token)).answer, /^-ERR/);
    assert.match((await smtpAuth(token)).answer, /^535 /);
    const h = await jmap(token);
    assert.equal(h.status, 401);
    assert.match(h.challenge, /error_description="The access token expired"/);
  });

  it('a token without exp is refused everywhere with that reason, never as expired', async () => {
    const token = await sign({ exp: undefined });
    const { tagged } = await imapAuth(token);
    assert.match(tagged, /^a1 NO \[AUTHENTICATIONFAILED\]/, tagged);
    assert.match((await pop3Auth(token)).answer, /^-ERR/);
    assert.match((await smtpAuth(token)).answer, /^535 /);
    const h = await jmap(token);
    assert.equal(h.status, 401);
    assert.match(h.challenge, /error_description="The access token has no exp claim/);
  });

  it('a token issued an hour in the future is refused everywhere', async () => {
    const token = await sign({ iat: nowSec() + 3600 });
    assert.match((await imapAuth(token)).tagged, /^a1 NO \[AUTHENTICATIONFAILED\]/);
    assert.match((await pop3Auth(token)).answer, /^-ERR/);
    assert.match((await smtpAuth(token)).answer, /^535 /);
    const h = await jmap(token);
    assert.equal(h.status, 401);
    assert.match(h.challenge, /error_description="The access token is issued in the future"/);
  });

  it('OAUTHBEARER host= must be the name or the address connected to, not any IP literal', async () => {
    const token = await sign({});
    // LineClient connects to 127.0.0.1.
    assert.match((await imapAuth(token, { host: '127.0.0.1', port: t.ports.imaps })).tagged, /^a1 OK/);
    assert.match((await imapAuth(token, { host: 'localhost' })).tagged, /^a1 OK/, 'server.hostname');
    for (const host of ['10.9.8.7', '[::1]', '192.0.2.1', 'evil.example'])
      assert.match((await imapAuth(token, { host })).tagged, /^a1 NO \[AUTHENTICATIONFAILED\]/, host);
  });
});
