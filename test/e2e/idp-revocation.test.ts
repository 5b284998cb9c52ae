// Revocation at the embedded provider ends live sessions: revoking a refresh token (its grant),
// `fingerpost admin token revoke` from another process, and removing a client each close the IMAP,
// POP3, SMTP and JMAP push sessions that used those tokens, with each protocol's goodbye; the
// tokens are refused afterwards. Keys rotated by the CLI while the server runs keep old tokens
// valid and make new ones work at once.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { issueToken, signInWithForms } from '../helpers/idp.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const USER = 'grace@example.test';
const PASSWORD = 'revocation test password';
const REDIRECT = 'http://127.0.0.1:49153/cb';

const bearerIr = (token: string) => Buffer.from(`n,a=${USER},\x01auth=Bearer ${token}\x01\x01`).toString('base64');

/** The live sessions of one token: IMAP, POP3 and submission over TLS, and a JMAP EventSource. */
interface Live {
  imap: LineClient;
  pop3: LineClient;
  smtp: LineClient;
  push: { events: string; ended: Promise<void>; close: () => void };
  close(): void;
}

// Several steps run the admin CLI as another process (seconds each on a loaded machine).
describe('revocation at the embedded provider ends live sessions', { timeout: 300_000 }, () => {
  let server: TestServer;
  let config: oidc.Configuration;
  let ids: ReturnType<typeof resourceIds>;

  async function openSessions(token: string): Promise<Live> {
    const imap = await LineClient.connect(server.ports.imaps, { tls: true, ca: server.ca });
    await imap.line();
    imap.write(`a1 AUTHENTICATE OAUTHBEARER ${bearerIr(token)}\r\n`);
    assert.match((await imap.until(/^a1 /)).at(-1)!, /^a1 OK/);
    const pop3 = await LineClient.connect(server.ports.pop3s, { tls: true, ca: server.ca });
    await pop3.line();
    pop3.write(`AUTH OAUTHBEARER ${bearerIr(token)}\r\n`);
    assert.match((await pop3.line())!, /^\+OK/);
    const smtp = await LineClient.connect(server.ports.submissions, { tls: true, ca: server.ca });
    await smtp.line();
    smtp.write('EHLO client.example\r\n');
    await smtp.until(/^250 /);
    smtp.write(`AUTH OAUTHBEARER ${bearerIr(token)}\r\n`);
    assert.match((await smtp.line())!, /^235/);
    const push = await new Promise<Live['push']>((resolve, reject) => {
      const req = https.get(
        `${server.baseUrl}/jmap/eventsource?types=*&closeafter=no&ping=0`,
        { ca: server.ca, headers: { authorization: `Bearer ${token}` } },
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
    return {
      imap,
      pop3,
      smtp,
      push,
      close() {
        imap.close();
        pop3.close();
        smtp.close();
        push.close();
      },
    };
  }

  /** Every session got its protocol's goodbye and was closed by the server. */
  async function assertEnded(live: Live): Promise<void> {
    assert.match((await live.imap.until(/^\* BYE/, 10_000)).at(-1)!, /^\* BYE/);
    assert.match((await live.pop3.line(10_000))!, /^-ERR/);
    assert.match((await live.smtp.line(10_000))!, /^421/);
    await live.push.ended;
    assert.match(live.push.events, /event: close/);
    await Promise.all([live.imap.closedByPeer(), live.pop3.closedByPeer(), live.smtp.closedByPeer()]);
  }

  async function refused(token: string): Promise<boolean> {
    const r = await server.services.auth.authenticate(
      { kind: 'bearer', token, mechanism: 'OAUTHBEARER' },
      { protocol: 'imap', listener: 'imaps', remote: '127.0.0.1', tls: true },
    );
    return !r.ok && r.code === 'invalid_token';
  }

  async function codeFlowTokens(cfg: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: REDIRECT,
      scope: `openid offline_access ${SCOPES.mail}`,
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { url: cb } = await signInWithForms(server.ca, url, { email: USER, password: PASSWORD });
    return oidc.authorizationCodeGrant(cfg, cb, { pkceCodeVerifier: verifier, expectedState: 'st' });
  }

  before(async () => {
    server = await startTestServer();
    await server.services.accounts.addUser({ address: USER, password: PASSWORD });
    ids = resourceIds(server.config);
    const fetch = caFetch(server.ca);
    config = await oidc.dynamicClientRegistration(
      new URL(`${server.baseUrl}/oidc`),
      { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', client_name: 'Revocation Test' },
      oidc.None(),
      { [oidc.customFetch]: fetch },
    );
    config[oidc.customFetch] = fetch;
  });

  after(async () => {
    await server.close();
  });

  it('revoking the refresh token (RFC 7009) ends the IMAP, POP3, SMTP and JMAP sessions of its grant', async () => {
    const tokens = await codeFlowTokens(config);
    assert.deepEqual(decodeJwt(tokens.access_token).aud, [ids.imap, ids.pop3, ids.smtp, ids.jmap]);
    const other = await issueToken(server, USER, { resource: [ids.imap, ids.pop3, ids.smtp, ids.jmap] });
    const live = await openSessions(tokens.access_token);
    const bystander = await LineClient.connect(server.ports.imaps, { tls: true, ca: server.ca });
    try {
      await bystander.line();
      bystander.write(`b1 AUTHENTICATE OAUTHBEARER ${bearerIr(other)}\r\n`);
      assert.match((await bystander.until(/^b1 /)).at(-1)!, /^b1 OK/);

      await oidc.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
      await assertEnded(live);
      assert.ok(await refused(tokens.access_token), 'the access token of the revoked grant is refused');
      bystander.write('b2 NOOP\r\n');
      assert.match((await bystander.until(/^b2 /)).at(-1)!, /^b2 OK/, 'a session of another token stays');
    } finally {
      live.close();
      bystander.close();
    }
  });

  it('`fingerpost admin token revoke` in another process ends the sessions of that token', async () => {
    const token = await issueToken(server, USER, { resource: [ids.imap, ids.pop3, ids.smtp, ids.jmap], ttl: '10m' });
    const live = await openSessions(token);
    try {
      // A jti is base64url and may start with "-": after "--" it is never taken for an option.
      const r = await runCli(['admin', 'token', 'revoke', '--data', server.dataDir, '--', String(decodeJwt(token).jti)], {
        env: { FINGERPOST_HTTP_PUBLIC_URL: server.config.publicUrl, FINGERPOST_LOG_LEVEL: 'silent' },
      });
      assert.equal(r.code, 0, r.stderr);
      await assertEnded(live);
      assert.ok(await refused(token));
    } finally {
      live.close();
    }
  });

  it('removing a client ends the sessions of the tokens it was issued', async () => {
    const tokens = await codeFlowTokens(config);
    const live = await openSessions(tokens.access_token);
    try {
      const r = await runCli(['admin', 'client', 'remove', '--data', server.dataDir, '--', config.clientMetadata().client_id], {
        env: { FINGERPOST_HTTP_PUBLIC_URL: server.config.publicUrl, FINGERPOST_LOG_LEVEL: 'silent' },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /revoked \d+ tokens/);
      await assertEnded(live);
      await assert.rejects(
        oidc.refreshTokenGrant(config, tokens.refresh_token!),
        (err: oidc.ResponseBodyError) => err.error === 'invalid_client',
      );
    } finally {
      live.close();
    }
  });

  it('`fingerpost admin keys rotate` while the server runs: old tokens stay valid, new ones work at once', async () => {
    const before = await issueToken(server, USER, { resource: ids.imap });
    const rotate = await runCli(['admin', 'keys', 'rotate', '--data', server.dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });
    assert.equal(rotate.code, 0, rotate.stderr);
    const after = await issueToken(server, USER, { resource: ids.imap });
    assert.notEqual(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid);
    assert.equal(await refused(before), false, 'a token signed with the retired key still works');
    assert.equal(await refused(after), false, 'a token signed with the new key works without a restart');
    const jwks = (await (await caFetch(server.ca)(`${server.baseUrl}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid],
      'the provider publishes the new key first and keeps the previous one',
    );
  });
});
