// External issuers, proved with a second, independent provider process (its own port, TLS
// certificate and ES256 keys; test/unit/idp/fixtures/second-issuer.ts shares no code with src/).
// Its tokens are refused while it is not trusted, work on SMTP, POP3, IMAP and JMAP once it is
// configured in [[auth.issuers]], are refused for another audience, and its OIDC back-channel
// logout ends the live POP3, IMAP and JMAP push sessions of that sign-in.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import * as oidc from 'openid-client';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { commandSkip } from '../helpers/peers.ts';
import { NODE, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const skip = commandSkip('curl', 'curl') || commandSkip('openssl', 'openssl', ['version']);
const FIXTURE = path.join(import.meta.dirname, '..', 'unit', 'idp', 'fixtures', 'second-issuer.ts');
const USER = 'frank@example.test';
const SECOND_PASSWORD = 'password at the second issuer';
const RP = { id: 'fingerpost-rp', secret: 'rp-secret' };
// Many refusals from 127.0.0.1 are the point of this test; the auth core's abuse delays are not.
const NO_DELAYS = { limits: { exempt: ['127.0.0.1/32', '::1/128'] } };

interface SecondIssuer {
  readonly issuer: string;
  readonly caFile: string;
  readonly child: ChildProcess;
}

async function startSecondIssuer(targetCa: string): Promise<SecondIssuer> {
  const child = spawn(
    NODE,
    [FIXTURE, '--user', `${USER}:${SECOND_PASSWORD}`, '--client', `${RP.id}:${RP.secret}`, '--target-ca', targetCa],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`second issuer exited with ${code}`)));
  });
  const { issuer, caFile } = JSON.parse(line) as { issuer: string; caFile: string };
  return { issuer, caFile, child };
}

/** curl as the mail client: exit code 0 when the bearer login (and the command) worked, 67 when login was denied. */
function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('a second, independent issuer', { skip }, () => {
  let dataDir: string;
  let second: SecondIssuer;
  let server: TestServer | undefined;
  let tokenClient: oidc.Configuration;

  /** An access token from the second issuer for `resources`. */
  async function secondToken(resources: string[], extra: Record<string, string> = {}): Promise<string> {
    const params = new URLSearchParams({ username: USER, password: SECOND_PASSWORD, scope: SCOPES.mail, ...extra });
    for (const r of resources) params.append('resource', r);
    return (await oidc.genericGrantRequest(tokenClient, 'password', params)).access_token;
  }

  /** Which services accept a token: a real client per protocol. */
  async function probe(s: TestServer, token: string) {
    const ca = s.caFile;
    const smtp = await nodemailer
      .createTransport({
        host: 'localhost',
        port: s.ports.submissions,
        secure: true,
        tls: { ca: s.ca },
        auth: { type: 'OAuth2', user: USER, accessToken: token },
      })
      .verify()
      .then(
        () => 'ok',
        (err: { responseCode?: number }) => `refused ${err.responseCode ?? ''}`.trim(),
      );
    const pop3 = await curl(['--cacert', ca, '--user', USER, '--oauth2-bearer', token, `pop3s://localhost:${s.ports.pop3s}/`]);
    const imap = await curl(['--cacert', ca, '--user', USER, '--oauth2-bearer', token, `imaps://localhost:${s.ports.imaps}/`]);
    const jmap = await caFetch(s.ca)(`${s.baseUrl}/jmap/session`, { headers: { authorization: `Bearer ${token}` } });
    const jmapBody = jmap.status === 200 ? ((await jmap.json()) as { username?: string }) : undefined;
    return { smtp, pop3: pop3.code, imap: imap.code, imapOut: imap.stdout + imap.stderr, jmap: jmap.status, jmapUser: jmapBody?.username };
  }

  /** A JMAP EventSource (push) connection authenticated with `token`. */
  function eventSource(s: TestServer, token: string): Promise<{ events: string; ended: Promise<void>; close: () => void }> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        `${s.baseUrl}/jmap/eventsource?types=*&closeafter=no&ping=0`,
        { ca: s.ca, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`eventsource answered ${res.statusCode}`));
          const state = { events: '', ended: new Promise<void>((r) => res.on('end', r)), close: () => req.destroy() };
          res.setEncoding('utf8');
          res.on('data', (d: string) => (state.events += d));
          resolve(state);
        },
      );
      req.on('error', reject);
    });
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-second-'));
    second = await startSecondIssuer(path.join(dataDir, 'tls', 'ca.pem'));
    const fetch = caFetch(await readFile(second.caFile, 'utf8'));
    tokenClient = await oidc.discovery(new URL(second.issuer), RP.id, undefined, oidc.ClientSecretBasic(RP.secret), {
      [oidc.customFetch]: fetch,
    });
    tokenClient[oidc.customFetch] = fetch;
  });

  after(async () => {
    await server?.close();
    second?.child.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('its tokens are refused while it is not trusted', async () => {
    server = await startTestServer({ dataDir, overrides: { auth: NO_DELAYS } });
    await server.services.accounts.addUser({ address: USER, password: 'local password 123' });
    const ids = resourceIds(server.config);
    const token = await secondToken([ids.imap, ids.pop3, ids.smtp, ids.jmap]);
    const r = await probe(server, token);
    assert.match(r.smtp, /^refused/);
    assert.equal(r.pop3, 67, 'curl: login denied');
    assert.equal(r.jmap, 401);
    assert.equal(r.imap, 67);
    const direct = await server.services.auth.authenticate(
      { kind: 'bearer', token, mechanism: 'OAUTHBEARER' },
      { protocol: 'imap', listener: 'imaps', remote: '127.0.0.1', tls: true },
    );
    assert.equal(direct.ok, false);
    assert.equal(!direct.ok && direct.code, 'invalid_token');
    await server.close();
    server = undefined;
  });

  describe('once trusted in [[auth.issuers]]', () => {
    let s: TestServer;
    let ids: ReturnType<typeof resourceIds>;

    before(async () => {
      s = await startTestServer({
        dataDir,
        overrides: { auth: { ...NO_DELAYS, issuers: [{ issuer: second.issuer, ca_file: second.caFile, client_id: RP.id }] } },
      });
      server = s;
      ids = resourceIds(s.config);
    });

    it('one token for every service works on SMTP, POP3, IMAP and JMAP', async () => {
      const token = await secondToken([ids.imap, ids.pop3, ids.smtp, ids.jmap]);
      const r = await probe(s, token);
      assert.equal(r.smtp, 'ok');
      assert.equal(r.pop3, 0, 'curl lists the POP3 maildrop');
      assert.equal(r.jmap, 200);
      assert.equal(r.jmapUser, USER);
      assert.equal(r.imap, 0, r.imapOut);
      const imap = new ImapFlow({
        host: 'localhost',
        port: s.ports.imaps,
        secure: true,
        tls: { ca: s.ca },
        auth: { user: USER, accessToken: token },
        logger: false,
      });
      await imap.connect();
      assert.ok((await imap.list()).some((m) => m.specialUse === '\\Inbox' || m.path === 'INBOX'));
      await imap.logout();
      const direct = await s.services.auth.authenticate(
        { kind: 'bearer', token, mechanism: 'XOAUTH2', username: USER },
        { protocol: 'imap', listener: 'imaps', remote: '127.0.0.1', tls: true },
      );
      assert.ok(direct.ok);
      assert.equal(direct.issuer, second.issuer);
      assert.equal(direct.account.address, USER);
    });

    it('a token for another audience is refused everywhere', async () => {
      const token = await secondToken(['imap://other.example', 'https://other.example/jmap/session']);
      const r = await probe(s, token);
      assert.match(r.smtp, /^refused/);
      assert.equal(r.pop3, 67);
      assert.equal(r.jmap, 401);
      assert.equal(r.imap, 67);
    });

    it('a token for one service works there only', async () => {
      const token = await secondToken([ids.pop3]);
      const r = await probe(s, token);
      assert.equal(r.pop3, 0);
      assert.match(r.smtp, /^refused/);
      assert.equal(r.jmap, 401);
    });

    it('its back-channel logout ends the live sessions of that sign-in and refuses its tokens', async () => {
      const sid = 'sid-for-logout-test';
      const token = await secondToken([ids.pop3, ids.imap, ids.jmap], { sid });
      const other = await secondToken([ids.smtp], { sid: 'another-sid' });
      const bearer = (t: string) => Buffer.from(`n,a=${USER},\x01auth=Bearer ${t}\x01\x01`).toString('base64');
      const pop = await LineClient.connect(s.ports.pop3s, { tls: true, ca: s.ca });
      const imap = await LineClient.connect(s.ports.imaps, { tls: true, ca: s.ca });
      const push = await eventSource(s, token);
      // Another sign-in of the same user (another sid), on submission.
      const smtp = await LineClient.connect(s.ports.submissions, { tls: true, ca: s.ca });
      try {
        assert.match((await pop.line())!, /^\+OK/);
        pop.write(`AUTH OAUTHBEARER ${bearer(token)}\r\n`);
        assert.match((await pop.line())!, /^\+OK/);
        await imap.line();
        imap.write(`a1 AUTHENTICATE OAUTHBEARER ${bearer(token)}\r\n`);
        assert.match((await imap.until(/^a1 /)).at(-1)!, /^a1 OK/);
        assert.match((await smtp.line())!, /^220/);
        smtp.write('EHLO client.example\r\n');
        await smtp.until(/^250 /);
        smtp.write(`AUTH OAUTHBEARER ${bearer(other)}\r\n`);
        assert.match((await smtp.line())!, /^235/);

        const target = `${s.baseUrl}/auth/backchannel-logout`;
        const res = await caFetch(await readFile(second.caFile, 'utf8'))(`${second.issuer}/logout`, {
          method: 'POST',
          body: new URLSearchParams({ sid, target, aud: RP.id }),
        });
        const answer = (await res.json()) as { status: number; logout_token: string };
        assert.equal(answer.status, 200, 'the logout token is accepted');

        // The POP3, IMAP and JMAP push sessions of that sid end with each protocol's own goodbye.
        assert.match((await pop.line(10_000))!, /^-ERR/);
        await pop.closedByPeer();
        assert.match((await imap.until(/^\* BYE/, 10_000)).at(-1)!, /^\* BYE/);
        await imap.closedByPeer();
        await push.ended;
        assert.match(push.events, /event: close/);
        // The other sign-in of the same user is untouched.
        smtp.write('NOOP\r\n');
        assert.match((await smtp.line())!, /^250/);
        // The logged-out session's tokens are refused from now on.
        assert.equal((await probe(s, token)).pop3, 67);

        // Replaying the same logout token is refused (400, RFC-style error object).
        const replay = await caFetch(s.ca)(target, { method: 'POST', body: new URLSearchParams({ logout_token: answer.logout_token }) });
        assert.equal(replay.status, 400);
        assert.equal(((await replay.json()) as { error: string }).error, 'invalid_request');
      } finally {
        pop.close();
        imap.close();
        smtp.close();
        push.close();
      }
    });

    it('refuses forged and malformed logout tokens with 400 and changes nothing', async () => {
      const target = `${s.baseUrl}/auth/backchannel-logout`;
      const post = (body: Record<string, string>) => caFetch(s.ca)(target, { method: 'POST', body: new URLSearchParams(body) });
      for (const body of [
        {} as Record<string, string>,
        { logout_token: 'not-a-jwt' },
        { logout_token: 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.' },
      ]) {
        const r = await post(body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(((await r.json()) as { error: string }).error, 'invalid_request');
      }
      // A logout token from the second issuer but for another client id (audience).
      const res = await caFetch(await readFile(second.caFile, 'utf8'))(`${second.issuer}/logout`, {
        method: 'POST',
        body: new URLSearchParams({ sid: 'x', target, aud: 'someone-else' }),
      });
      assert.equal(((await res.json()) as { status: number }).status, 400);
      const token = await secondToken([ids.pop3], { sid: 'x' });
      assert.equal((await probe(s, token)).pop3, 0, 'the refused logout ended nothing');
    });
  });
});
