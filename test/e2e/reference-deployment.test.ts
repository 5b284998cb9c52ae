// The "OIDC everywhere" reference deployment (docs/identity-providers/reference-deployment.md),
// end to end on one machine: people in a real slapd (test/helpers/slapd.ts); an independent
// OpenID provider, deploy/reference/provider.ts (npm oidc-provider, its own process and keys),
// whose passwords are LDAP binds and whose token subjects are the entries' mail addresses;
// Fingerpost with accounts from that LDAP, the embedded provider off, that issuer trusted and
// passwords off everywhere; nginx as the HTTP gateway, running deploy/reference/nginx.conf with
// the test's addresses, and the gateway sign-in service deploy/reference/gateway.ts behind it
// (auth_request, then the trusted header). Real clients: imapflow (XOAUTH2), nodemailer (XOAUTH2),
// curl (POP3 OAUTHBEARER), fetch with a bearer, and headless Chromium (Debian `chromium`, driven by
// playwright-core) signing in on the provider's login page. With FINGERPOST_SCREENSHOTS=1 the
// screenshots of docs/identity-providers/reference-deployment.md are written to
// docs/identity-providers/images/; otherwise to a temporary folder.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { waitForPort } from '../helpers/pebble.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { NODE, ROOT, startTestServer, type TestServer } from '../helpers/server.ts';
import { slapdSkip, startSlapd, type TestSlapd } from '../helpers/slapd.ts';

const skip = slapdSkip() || commandSkip('nginx', 'nginx-core', ['-v']) || commandSkip('curl', 'curl') || commandSkip(CHROMIUM, 'chromium');
const REFERENCE = path.join(ROOT, 'deploy', 'reference');
const PROVIDER = path.join(REFERENCE, 'provider.ts');
const GATEWAY = path.join(REFERENCE, 'gateway.ts');
const SHOTS =
  process.env.FINGERPOST_SCREENSHOTS === '1'
    ? path.join(ROOT, 'docs', 'identity-providers', 'images')
    : await mkdtemp(path.join(os.tmpdir(), 'fingerpost-shots-'));
const ALICE = 'alice@example.org';
const RP = { id: 'fingerpost-rp', secret: 'rp-secret-1' };
const GATEWAY_SECRET = 'gateway-secret-0123456789';
const GATEWAY_RESOURCE = 'https://gateway.example.org';
const GATEWAY_CLIENT = { id: 'fingerpost-gateway', secret: 'gateway-client-secret-1' };

/** `text` with each `from` replaced by its `to`; every `from` must occur (the shipped file changed otherwise). */
function fill(text: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  for (const [from, to] of pairs) {
    assert.ok(text.includes(from), `deploy/reference/nginx.conf no longer has ${from}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** Starts `node script args` and resolves once it printed its JSON line. */
async function startScript(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(NODE, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(script)} exited with ${code}`)));
  });
  return child;
}

describe('reference deployment: LDAP, an independent OpenID provider, OAuth everywhere, an HTTP gateway', { skip }, () => {
  let tmp: string;
  let slapd: TestSlapd;
  let fp: TestServer;
  let provider: ChildProcess;
  let gatewayAuth: ChildProcess;
  let nginx: ChildProcess;
  let browser: Browser;
  let gatewayUrl: string;
  let nginxLog = '';
  let issuer: string;
  let issuerCa: string;
  let gatewayPort: number;
  /** Fingerpost's settings of deploy/reference/fingerpost.toml, with the test's addresses. */
  let overrides: Record<string, unknown>;

  /** A token from the provider for one resource: the password grant, checked by an LDAP bind. */
  async function token(resource: string, username = ALICE, password = 'alice-password-1'): Promise<Response> {
    const body = new URLSearchParams({ grant_type: 'password', username, password, scope: SCOPES.mail, resource });
    return caFetch(issuerCa)(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${RP.id}:${RP.secret}`).toString('base64')}` },
      body,
    });
  }
  const accessToken = async (resource: string) => {
    const res = await token(resource);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { access_token: string }).access_token;
  };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-reference-'));
    slapd = await startSlapd();
    const tls = await ensureLocalTls(path.join(tmp, 'provider'), ['localhost']);
    issuerCa = await readFile(tls.caCert, 'utf8');
    const [providerPort, gw, authPort] = (await freePorts(3)) as [number, number, number];
    gatewayPort = gw;
    gatewayUrl = `https://localhost:${gatewayPort}`;
    issuer = `https://localhost:${providerPort}`;
    overrides = {
      directory: {
        ldap: [
          {
            name: 'corp',
            domains: ['example.org'],
            urls: [slapd.ldapsUrl],
            ca_file: slapd.caFile,
            bind_dn: slapd.bindDn,
            bind_password: slapd.bindPassword,
            base_dn: `ou=people,${slapd.suffix}`,
            quota_attribute: 'mailQuota',
            status_attribute: 'accountStatus',
          },
        ],
      },
      idp: { enabled: false },
      auth: {
        plain: false,
        oauth: true,
        embedded_issuer: false,
        http_schemes: ['bearer', 'gateway'],
        gateway: { header: 'X-User', from: ['127.0.0.1/32'], secret: GATEWAY_SECRET },
        issuers: [{ issuer, ca_file: tls.caCert, claim: 'sub', client_id: RP.id }],
        limits: { exempt: ['127.0.0.1/32', '::1/128'] },
      },
    };
    fp = await startTestServer({ domain: 'example.org', overrides });
    const ids = resourceIds(fp.config);
    const args = ['--issuer', issuer, '--port', String(providerPort), '--bind', '127.0.0.1'];
    args.push('--cert', tls.cert, '--key', tls.key, '--ldap-url', slapd.ldapsUrl, '--ldap-ca', slapd.caFile);
    args.push('--ldap-base', `ou=people,${slapd.suffix}`, '--ldap-bind-dn', slapd.bindDn, '--ldap-bind-password', slapd.bindPassword);
    args.push('--client', `${RP.id}:${RP.secret}`, '--gateway-resource', GATEWAY_RESOURCE);
    args.push('--gateway-url', gatewayUrl, '--gateway-client', `${GATEWAY_CLIENT.id}:${GATEWAY_CLIENT.secret}`);
    for (const r of [ids.imap, ids.smtp, ids.pop3, ids.jmap]) args.push('--resource', r);
    provider = await startScript(PROVIDER, args);
    gatewayAuth = await startScript(GATEWAY, [
      ...['--issuer', issuer, '--ca', tls.caCert, '--public-url', gatewayUrl],
      ...['--client', `${GATEWAY_CLIENT.id}:${GATEWAY_CLIENT.secret}`, '--port', String(authPort)],
    ]);
    // The shipped nginx.conf, with this machine's addresses and files instead of the compose names.
    const shipped = await readFile(path.join(REFERENCE, 'nginx.conf'), 'utf8');
    const conf = path.join(tmp, 'nginx.conf');
    await writeFile(
      conf,
      fill(shipped, [
        [
          'worker_processes 1;',
          `${process.getuid?.() === 0 ? 'user root;' : ''}\nworker_processes 1;\ndaemon off;\npid ${tmp}/nginx.pid;\nerror_log stderr notice;`,
        ],
        [
          'http {',
          `http {\n  access_log off;\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};`).join('\n')}`,
        ],
        ['listen 8443 ssl;', `listen 127.0.0.1:${gatewayPort} ssl;`],
        ['/certs/gateway.pem', tls.cert],
        ['/certs/gateway.key', tls.key],
        ['127.0.0.1:4180', `127.0.0.1:${authPort}`],
        ['https://mail.example.org:8443', `https://127.0.0.1:${fp.ports.https}`],
        ['/fingerpost-data/tls/ca.pem', fp.caFile],
        ['proxy_ssl_name mail.example.org;', 'proxy_ssl_name localhost;'],
        ['include /etc/nginx/gateway-secret.conf;', `proxy_set_header X-Fingerpost-Gateway-Secret "${GATEWAY_SECRET}";`],
      ]),
    );
    nginx = spawn('nginx', ['-p', tmp, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (nginxLog = (nginxLog + d).slice(-20_000));
    nginx.stdout!.on('data', keep);
    nginx.stderr!.on('data', keep);
    await waitForPort(gatewayPort, nginx, () => nginxLog);
    // Chromium trusts the one certificate the provider and the gateway share (pinned by its key).
    browser = await launchChromium(path.join(tmp, 'provider'));
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    provider?.kill('SIGTERM');
    gatewayAuth?.kill('SIGTERM');
    await fp?.close();
    await slapd?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the provider signs people in against LDAP (no token for a wrong password or an unknown user); the code flow needs PKCE', async () => {
    const ids = resourceIds(fp.config);
    assert.equal((await token(ids.imap, ALICE, 'not-the-password')).status, 400);
    assert.equal((await token(ids.imap, 'nobody@example.org', 'alice-password-1')).status, 400);
    assert.equal((await token('imap://elsewhere.example')).status, 400, 'a resource it does not issue for');
    // The gateway's authorization requests need PKCE (RFC 7636), and only its own redirect URI.
    const authorize = (params: Record<string, string>) =>
      caFetch(issuerCa)(
        `${issuer}/auth?${new URLSearchParams({ client_id: GATEWAY_CLIENT.id, response_type: 'code', scope: 'openid email', ...params })}`,
      );
    const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const noPkce = await authorize({ redirect_uri: `${gatewayUrl}/_gateway/callback` });
    assert.equal(noPkce.status, 303);
    assert.match(String(noPkce.headers.get('location')), /error=invalid_request/);
    const elsewhere = await authorize({ redirect_uri: 'https://attacker.example/callback', ...challenge });
    assert.equal(elsewhere.status, 400);
    assert.doesNotMatch(String(elsewhere.headers.get('location')), /attacker/);
    const fine = await authorize({ redirect_uri: `${gatewayUrl}/_gateway/callback`, ...challenge });
    assert.equal(fine.status, 303);
    assert.match(String(fine.headers.get('location')), /^\/interaction\//);
  });

  it('imapflow signs in with XOAUTH2 and a token of the provider; a password is refused', async () => {
    const t = await accessToken(resourceIds(fp.config).imap);
    const imap = (auth: { user: string; pass?: string; accessToken?: string }) =>
      new ImapFlow({
        host: '127.0.0.1',
        port: fp.ports.imaps,
        secure: true,
        tls: { ca: fp.ca, servername: 'localhost' },
        auth,
        logger: false,
      });
    const c = imap({ user: ALICE, accessToken: t });
    await c.connect();
    try {
      assert.ok(
        (await c.list()).some((m) => m.path === 'INBOX'),
        'mailboxes provisioned for the LDAP account',
      );
    } finally {
      await c.logout();
    }
    await assert.rejects(imap({ user: ALICE, pass: 'alice-password-1' }).connect());
  });

  it('nodemailer submits with XOAUTH2; a password is refused', async () => {
    const t = await accessToken(resourceIds(fp.config).smtp);
    const submit = (auth: Record<string, string>) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port: fp.ports.submissions,
        secure: true,
        tls: { ca: fp.ca, servername: 'localhost' },
        auth,
      });
    const sent = await submit({ type: 'OAuth2', user: ALICE, accessToken: t }).sendMail({
      from: ALICE,
      to: 'bob@example.org',
      subject: 'through the reference deployment',
      text: 'hello',
    });
    assert.deepEqual(sent.accepted, ['bob@example.org']);
    await assert.rejects(submit({ user: ALICE, pass: 'alice-password-1' }).verify());
  });

  it('curl reads POP3 with OAUTHBEARER; with the password it is denied', async () => {
    const t = await accessToken(resourceIds(fp.config).pop3);
    const curl = (auth: string[]) =>
      new Promise<number>((resolve) =>
        execFile('curl', ['-sS', '--max-time', '20', '--cacert', fp.caFile, ...auth, `pop3s://localhost:${fp.ports.pop3s}/`], (err) =>
          resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
        ),
      );
    assert.equal(await curl(['--user', ALICE, '--oauth2-bearer', t]), 0);
    assert.equal(await curl(['--user', `${ALICE}:alice-password-1`]), 67, 'curl: login denied');
  });

  it('JMAP answers a bearer token of the provider and refuses Basic', async () => {
    const t = await accessToken(resourceIds(fp.config).jmap);
    const fetch = caFetch(fp.ca);
    const ok = await fetch(`${fp.baseUrl}/jmap/session`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { username: string }).username, ALICE);
    const basic = await fetch(`${fp.baseUrl}/jmap/session`, {
      headers: { authorization: `Basic ${Buffer.from(`${ALICE}:alice-password-1`).toString('base64')}` },
    });
    assert.equal(basic.status, 401);
    assert.doesNotMatch(String(basic.headers.get('www-authenticate')), /Basic/);
  });

  it('through the nginx gateway: its token signs in (trusted header); no token or a password does not', async () => {
    const t = await accessToken(GATEWAY_RESOURCE);
    const via = (headers: Record<string, string>) => caFetch(issuerCa)(`${gatewayUrl}/jmap/session`, { headers });
    const ok = await via({ authorization: `Bearer ${t}` });
    assert.equal(ok.status, 200, nginxLog);
    assert.equal(((await ok.json()) as { username: string }).username, ALICE);
    // A script (no Accept: text/html) is not sent to a login page: 401 with a Bearer challenge.
    const none = await via({});
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /^Bearer/);
    assert.equal((await via({ authorization: `Basic ${Buffer.from(`${ALICE}:alice-password-1`).toString('base64')}` })).status, 401);
    assert.equal((await via({ authorization: 'Bearer not-a-token-of-the-provider' })).status, 401);
    // A token for another resource is no gateway token.
    assert.equal((await via({ authorization: `Bearer ${await accessToken(resourceIds(fp.config).jmap)}` })).status, 401);
    // The client's own X-User is replaced by the gateway's.
    const mixed = await via({ authorization: `Bearer ${t}`, 'x-user': 'bob@example.org' });
    assert.equal(((await mixed.json()) as { username: string }).username, ALICE);
  });

  it('a forged gateway header from outside the gateway is refused', async () => {
    const direct = (headers: Record<string, string>, localAddress?: string) =>
      caFetch(fp.ca)(`${fp.baseUrl}/jmap/session`, { headers, ...(localAddress ? { localAddress } : {}) });
    // Without the secret, with a wrong one, and with the right one from an address that is not the gateway's.
    assert.equal((await direct({ 'x-user': ALICE })).status, 401);
    assert.equal((await direct({ 'x-user': ALICE, 'x-fingerpost-gateway-secret': 'gateway-secret-9876543210' })).status, 401);
    assert.equal((await direct({ 'x-user': ALICE, 'x-fingerpost-gateway-secret': GATEWAY_SECRET }, '127.0.0.2')).status, 401);
    // The same request from the gateway's address is honoured: the refusals above are the checks, not a broken route.
    const fromGateway = await direct({ 'x-user': ALICE, 'x-fingerpost-gateway-secret': GATEWAY_SECRET });
    assert.equal(fromGateway.status, 200);
    assert.equal(((await fromGateway.json()) as { username: string }).username, ALICE);
  });

  it('the gateway refuses a callback that no sign-in of this browser started (login CSRF)', async () => {
    const res = await caFetch(issuerCa)(`${gatewayUrl}/_gateway/callback?code=stolen-code&state=some-state`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /expired or was started in another browser/);
    assert.equal(res.headers.get('set-cookie')?.includes('__Host-gateway_session'), false);
  });

  it('a browser signs in at the gateway on the provider page (LDAP), lands on Fingerpost as that user, and signs out', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    try {
      const page = await context.newPage();
      const jmap = `${gatewayUrl}/jmap/session`;
      await page.goto(jmap);
      await page.waitForSelector('input[name=password]');
      assert.equal(new URL(page.url()).origin, issuer, 'sent to the provider');
      assert.match(page.url(), /\/interaction\//);
      assert.match((await page.textContent('main')) ?? '', /Sign in[\s\S]*the gateway/);
      // A wrong LDAP password stays on the page with a message.
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'not-the-password');
      await page.click('button[type=submit]');
      await page.waitForSelector('[role=alert]');
      assert.match((await page.textContent('[role=alert]')) ?? '', /Wrong user name or password/);
      await page.fill('input[name=password]', 'alice-password-1');
      await page.screenshot({ path: path.join(SHOTS, 'reference-provider-login.png') });
      await Promise.all([page.waitForURL(jmap), page.click('button[type=submit]')]);
      const session = JSON.parse((await page.textContent('pre')) ?? '{}') as { username?: string };
      assert.equal(session.username, ALICE, 'Fingerpost sees the LDAP user the provider signed in');
      await page.screenshot({ path: path.join(SHOTS, 'reference-gateway-signed-in.png') });

      const cookies = await context.cookies(gatewayUrl);
      const cookie = cookies.find((c) => c.name === '__Host-gateway_session');
      assert.ok(cookie, 'the gateway set its session cookie');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.secure, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.ok(!cookies.some((c) => c.name === '__Host-gateway_login'), 'the login cookie is cleared');
      const withCookie = (value: string) =>
        caFetch(issuerCa)(jmap, { headers: { cookie: `__Host-gateway_session=${value}`, 'x-user': 'bob@example.org' } });
      const byCookie = await withCookie(cookie.value);
      assert.equal(byCookie.status, 200);
      assert.equal(((await byCookie.json()) as { username: string }).username, ALICE, 'a header of the client does not change the user');
      assert.equal((await withCookie(`${cookie.value.slice(0, -2)}xx`)).status, 401, 'a made-up session');

      // Sign out: the gateway's page, then the provider's confirmation, then back to the gateway.
      await page.goto(`${gatewayUrl}/_gateway/sign-out`);
      assert.match((await page.textContent('main')) ?? '', new RegExp(`Signed in as ${ALICE}`));
      await Promise.all([page.waitForURL(new RegExp(`^${issuer}/session/end`)), page.click('button[type=submit]')]);
      await page.screenshot({ path: path.join(SHOTS, 'reference-provider-sign-out.png') });
      await Promise.all([page.waitForURL(`${gatewayUrl}/_gateway/signed-out`), page.click('button[value=yes]')]);
      assert.match((await page.textContent('main')) ?? '', /You are signed out/);
      assert.ok(!(await context.cookies(gatewayUrl)).some((c) => c.name === '__Host-gateway_session'), 'the cookie is gone');
      assert.equal(
        (await withCookie(cookie.value)).status,
        401,
        'the old session is ended at the gateway, not only forgotten by the browser',
      );
      // The provider's session ended too: the next visit asks for the password again.
      await page.goto(jmap);
      await page.waitForSelector('input[name=password]');
      assert.equal(new URL(page.url()).origin, issuer);
    } finally {
      await context.close();
    }
  });

  it('LDAP down: the login page says so (503) and works again once LDAP is back, without a restart', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${gatewayUrl}/jmap/session`);
      await page.waitForSelector('input[name=password]');
      await slapd.stop();
      try {
        await page.fill('input[name=username]', ALICE);
        await page.fill('input[name=password]', 'alice-password-1');
        const [res] = await Promise.all([page.waitForResponse(/\/login$/), page.click('button[type=submit]')]);
        assert.equal(res.status(), 503);
        await page.waitForSelector('[role=alert]');
        assert.match((await page.textContent('[role=alert]')) ?? '', /directory cannot be reached/);
        assert.equal(await page.inputValue('input[name=username]'), ALICE, 'the user name is kept');
      } finally {
        await slapd.start();
      }
      await page.fill('input[name=password]', 'alice-password-1');
      await Promise.all([page.waitForURL(`${gatewayUrl}/jmap/session`), page.click('button[type=submit]')]);
      assert.equal((JSON.parse((await page.textContent('pre')) ?? '{}') as { username?: string }).username, ALICE);
    } finally {
      await context.close();
    }
  });

  it('the variant: passwords kept on IMAP and submission (LDAP binds), JMAP stays OIDC-only', async () => {
    const variant = await startTestServer({
      domain: 'example.org',
      overrides: { ...overrides, imap: { auth_plain: true }, submission: { auth_plain: true } },
    });
    try {
      const imap = (auth: { user: string; pass?: string; accessToken?: string }) =>
        new ImapFlow({
          host: '127.0.0.1',
          port: variant.ports.imaps,
          secure: true,
          tls: { ca: variant.ca, servername: 'localhost' },
          auth,
          logger: false,
        });
      for (const auth of [
        { user: ALICE, pass: 'alice-password-1' },
        { user: ALICE, accessToken: await accessToken(resourceIds(variant.config).imap) },
      ]) {
        const c = imap(auth);
        await c.connect();
        await c.logout();
      }
      await nodemailer
        .createTransport({
          host: '127.0.0.1',
          port: variant.ports.submissions,
          secure: true,
          tls: { ca: variant.ca, servername: 'localhost' },
          auth: { user: ALICE, pass: 'alice-password-1' },
        })
        .verify();
      const basic = await caFetch(variant.ca)(`${variant.baseUrl}/jmap/session`, {
        headers: { authorization: `Basic ${Buffer.from(`${ALICE}:alice-password-1`).toString('base64')}` },
      });
      assert.equal(basic.status, 401);
      assert.doesNotMatch(String(basic.headers.get('www-authenticate')), /Basic/);
    } finally {
      await variant.close();
    }
  });
});
