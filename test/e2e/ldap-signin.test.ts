// LDAP accounts signing in with clients nobody here wrote, against a real slapd
// (test/helpers/slapd.ts) and a whole node: imapflow with the LDAP password and with a token from
// the embedded provider, whose sign-in page binds against LDAP; Python's imaplib; curl with an app
// password (IMAP) and a bearer token (JMAP); nodemailer submitting and delivering to an LDAP alias.
// An account disabled in LDAP loses its open session. Then LDAP goes away: new sign-ins get the protocols' temporary errors, the open session keeps
// working, and sign-ins work again once slapd is back, without a restart.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import * as oidc from 'openid-client';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { signInWithForms } from '../helpers/idp.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { slapdSkip, startSlapd, type TestSlapd } from '../helpers/slapd.ts';
import { runAsync } from './client-support.ts';
import { inboxOf } from './smtp-helpers.ts';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const DAVE = 'dave@example.org';

const PYTHON_LOGIN = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
typ, data = m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
print('login', typ)
typ, data = m.select('INBOX')
print('select', typ)
typ, data = m.list()
print('list', b' | '.join(data).decode())
m.logout()
`;

describe('LDAP accounts with real clients', {
  skip: slapdSkip() || commandSkip('curl', 'curl') || commandSkip('python3', 'python3'),
}, () => {
  let slapd: TestSlapd;
  let t: TestServer;

  const ldapSource = () => ({
    name: 'corp',
    domains: ['example.org'],
    urls: [slapd.ldapsUrl],
    ca_file: slapd.caFile,
    bind_dn: slapd.bindDn,
    bind_password: slapd.bindPassword,
    base_dn: `ou=people,${slapd.suffix}`,
    quota_attribute: 'mailQuota',
    status_attribute: 'accountStatus',
    admin_group_dn: `cn=mailadmins,ou=groups,${slapd.suffix}`,
    timeout: '2s',
    // Every lookup asks LDAP, so a change there is seen at once (the unit tests cover the cache).
    cache_ttl: 0,
    // Tried again at once after a failure: the recovery below needs no wait.
    retry_after: 0,
  });

  before(async () => {
    slapd = await startSlapd();
    t = await startTestServer({
      domain: 'example.test',
      overrides: { directory: { ldap: [ldapSource()] } },
    });
  });
  after(async () => {
    await t?.close();
    await slapd?.close();
  });

  const imap = (auth: { user: string; pass?: string; accessToken?: string }, server = t) =>
    new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: server.ca, servername: 'localhost' },
      auth,
      logger: false,
    });

  test('imapflow signs in with the LDAP password: mailboxes provisioned, quota from LDAP, mail to an LDAP alias arrives', async () => {
    const c = imap({ user: ALICE, pass: 'alice-password-1' });
    await c.connect();
    try {
      const names = (await c.list()).map((m) => m.path).sort();
      assert.deepEqual(names, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      const q = (await c.getQuota('INBOX')) as { storage?: { limit: number } };
      assert.equal(q.storage?.limit, 1_048_576, 'mailQuota of the entry');
    } finally {
      await c.logout();
    }
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
    const sent = await mx.sendMail({ from: 'someone@example.net', to: 'a.liddell@example.org', subject: 'to the alias', text: 'hello' });
    assert.deepEqual(sent.accepted, ['a.liddell@example.org']);
    assert.ok((await inboxOf(t, ALICE)).some((m) => m.includes('Subject: to the alias')));
  });

  test("Python's imaplib signs in as another LDAP user", async () => {
    const r = await runAsync('python3', ['-c', PYTHON_LOGIN], {
      env: { ...process.env, CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: BOB, PASSWORD: 'bob-password-1' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^login OK$/m);
    assert.match(r.stdout, /^select OK$/m);
    assert.match(r.stdout, /INBOX/);
  });

  test('curl reads IMAP with an app password of an LDAP account; a wrong password fails', async () => {
    const { secret } = await t.services.accounts.createAppPassword({ address: BOB, name: 'curl', protocols: ['imap'], expiresAt: null });
    const ok = await runAsync('curl', [
      '--silent',
      '--show-error',
      '--cacert',
      t.caFile,
      '--user',
      `${BOB}:${secret}`,
      `imaps://localhost:${t.ports.imaps}/`,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /INBOX/);
    const bad = await runAsync('curl', [
      '--silent',
      '--cacert',
      t.caFile,
      '--user',
      `${BOB}:not-the-password`,
      `imaps://localhost:${t.ports.imaps}/`,
    ]);
    assert.equal(bad.code, 67, 'curl: login denied');
  });

  test("the embedded provider's sign-in page binds against LDAP; its token works in imapflow (OAUTHBEARER) and curl (JMAP)", async () => {
    const fetchCa = caFetch(t.ca);
    const issuer = `${t.config.publicUrl}/oidc`;
    const cfg = await oidc.dynamicClientRegistration(
      new URL(issuer),
      { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', client_name: 'LDAP test' },
      oidc.None(),
      { [oidc.customFetch]: fetchCa },
    );
    cfg[oidc.customFetch] = fetchCa;
    const token = async (resource: string, scope: string) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const authUrl = oidc.buildAuthorizationUrl(cfg, {
        redirect_uri: 'http://127.0.0.1/cb',
        scope: `openid ${scope}`,
        resource,
        state: 'st',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const { url } = await signInWithForms(t.ca, authUrl, { email: ALICE, password: 'alice-password-1' });
      return (await oidc.authorizationCodeGrant(cfg, url, { pkceCodeVerifier: verifier, expectedState: 'st' })).access_token;
    };
    const ids = resourceIds(t.config);
    const jmapToken = await token(ids.jmap, 'urn:ietf:params:oauth:scope:mail');
    const session = await runAsync('curl', ['--silent', '--show-error', '--cacert', t.caFile, '--oauth2-bearer', jmapToken, ids.jmap]);
    assert.equal(session.code, 0, session.stderr);
    assert.equal(JSON.parse(session.stdout).username, ALICE);

    const imapToken = await token(ids.imap, 'urn:ietf:params:oauth:scope:mail');
    const c = imap({ user: ALICE, accessToken: imapToken });
    await c.connect();
    try {
      const inbox = await c.status('INBOX', { messages: true });
      assert.ok(inbox && inbox.messages! >= 1);
    } finally {
      await c.logout();
    }

    await assert.rejects(signInWithForms(t.ca, new URL(`${issuer}/auth?x=1`), { email: ALICE, password: 'wrong-password' }));
  });

  test('an account disabled in LDAP loses its open IMAP session and cannot sign in again until enabled', async () => {
    const c = imap({ user: BOB, pass: 'bob-password-1' });
    await c.connect();
    const closed = once(c, 'close');
    slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: modify\nreplace: accountStatus\naccountStatus: disabled\n`);
    try {
      await t.services.auth.recheckAccounts();
      await closed;
      const again = imap({ user: BOB, pass: 'bob-password-1' });
      const err = (await again.connect().then(
        () => undefined,
        (e: unknown) => e,
      )) as { serverResponseCode?: string } | undefined;
      assert.equal(err?.serverResponseCode, 'AUTHORIZATIONFAILED');
    } finally {
      slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: modify\nreplace: accountStatus\naccountStatus: active\n`);
    }
    const back = imap({ user: BOB, pass: 'bob-password-1' });
    await back.connect();
    await back.logout();
  });

  test('OAuth-only IMAP and JMAP with passwords kept for submission: LDAP accounts follow the listener policy', async () => {
    const oauthOnly = await startTestServer({
      domain: 'example.test',
      overrides: { directory: { ldap: [ldapSource()] }, imap: { auth_plain: false }, auth: { http_schemes: ['bearer'] } },
    });
    try {
      const refused = imap({ user: ALICE, pass: 'alice-password-1' }, oauthOnly);
      await assert.rejects(refused.connect(), 'no password mechanism on IMAP');
      const ids = resourceIds(oauthOnly.config);
      const { token } = await oauthOnly.services.idp.issueAdminToken({
        address: ALICE,
        resources: [ids.imap],
        scopes: ['urn:ietf:params:oauth:scope:mail'],
        ttlMs: 600_000,
      });
      const c = imap({ user: ALICE, accessToken: token }, oauthOnly);
      await c.connect();
      await c.logout();
      const basic = await runAsync('curl', [
        '--silent',
        '--output',
        '/dev/null',
        '--write-out',
        '%{http_code}',
        '--cacert',
        oauthOnly.caFile,
        '--user',
        `${ALICE}:alice-password-1`,
        ids.jmap,
      ]);
      assert.equal(basic.stdout, '401', 'JMAP takes bearer tokens only');
      const submission = nodemailer.createTransport({
        host: '127.0.0.1',
        port: oauthOnly.ports.submissions,
        secure: true,
        tls: { ca: oauthOnly.ca, servername: 'localhost' },
        auth: { user: ALICE, pass: 'alice-password-1', method: 'PLAIN' },
      });
      assert.equal(await submission.verify(), true, 'submission still takes the LDAP password');
    } finally {
      await oauthOnly.close();
    }
  });

  test('LDAP down: IMAP NO [UNAVAILABLE], SMTP 454, HTTP 503 for new sign-ins; the open session keeps working; back without a restart', async () => {
    // Dave has not signed in yet: nothing about him is cached (a cached entry and a password
    // verified in the last minutes would still let him in while LDAP is away).
    slapd.modify(
      `dn: uid=dave,ou=people,${slapd.suffix}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\nsn: Dave\nmail: ${DAVE}\nuserPassword: dave-password-1\n`,
    );
    const open = imap({ user: ALICE, pass: 'alice-password-1' });
    await open.connect();
    await slapd.stop();
    try {
      const c = imap({ user: DAVE, pass: 'dave-password-1' });
      const err = (await c.connect().then(
        () => undefined,
        (e: unknown) => e,
      )) as { serverResponseCode?: string; authenticationFailed?: boolean } | undefined;
      assert.ok(err, 'refused');
      assert.equal(err.serverResponseCode, 'UNAVAILABLE');

      const submission = nodemailer.createTransport({
        host: '127.0.0.1',
        port: t.ports.submissions,
        secure: true,
        tls: { ca: t.ca, servername: 'localhost' },
        auth: { user: DAVE, pass: 'dave-password-1', method: 'PLAIN' },
      });
      await assert.rejects(submission.verify(), (e: { responseCode?: number }) => e.responseCode === 454);

      const http = await runAsync('curl', [
        '--silent',
        '--output',
        '/dev/null',
        '--write-out',
        '%{http_code}',
        '--cacert',
        t.caFile,
        '--user',
        `${DAVE}:dave-password-1`,
        resourceIds(t.config).jmap,
      ]);
      assert.equal(http.stdout, '503');

      const mx = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
      await assert.rejects(
        mx.sendMail({ from: 'someone@example.net', to: 'carol@example.org', subject: 'x', text: 'x' }),
        (e: { responseCode?: number }) => e.responseCode === 451,
        'mail to an LDAP domain is deferred, not refused',
      );

      const status = await open.status('INBOX', { messages: true });
      assert.ok(status && status.messages! >= 1, 'the session opened before keeps working');
    } finally {
      await slapd.start();
    }
    const again = imap({ user: DAVE, pass: 'dave-password-1' });
    await again.connect();
    await again.logout();
    await open.logout();
  });
});
