// The "OIDC everywhere" reference deployment (docs/identity-providers/reference-deployment.md),
// end to end on one machine: people in a real slapd (test/helpers/slapd.ts); an independent
// OpenID provider, deploy/reference/provider.ts (npm oidc-provider, its own process and keys),
// whose passwords are LDAP binds and whose token subjects are the entries' mail addresses;
// Fingerpost with accounts from that LDAP, the embedded provider off, that issuer trusted and
// passwords off everywhere; nginx as the HTTP gateway (auth_request to the provider, then the
// trusted header). Real clients: imapflow (XOAUTH2), nodemailer (XOAUTH2), curl (POP3 OAUTHBEARER),
// fetch with a bearer.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { waitForPort } from '../helpers/pebble.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { NODE, ROOT, startTestServer, type TestServer } from '../helpers/server.ts';
import { slapdSkip, startSlapd, type TestSlapd } from '../helpers/slapd.ts';

const skip = slapdSkip() || commandSkip('nginx', 'nginx-core', ['-v']) || commandSkip('curl', 'curl');
const PROVIDER = path.join(ROOT, 'deploy', 'reference', 'provider.ts');
const ALICE = 'alice@example.org';
const RP = { id: 'fingerpost-rp', secret: 'rp-secret-1' };
const GATEWAY_SECRET = 'gateway-secret-0123456789';
const GATEWAY_RESOURCE = 'https://gateway.example.org';

describe('reference deployment: LDAP, an independent OpenID provider, OAuth everywhere, an HTTP gateway', { skip }, () => {
  let tmp: string;
  let slapd: TestSlapd;
  let fp: TestServer;
  let provider: ChildProcess;
  let nginx: ChildProcess;
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
    const [providerPort, gw] = (await freePorts(2)) as [number, number];
    gatewayPort = gw;
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
    const args = [PROVIDER, '--issuer', issuer, '--port', String(providerPort), '--bind', '127.0.0.1'];
    args.push('--cert', tls.cert, '--key', tls.key, '--ldap-url', slapd.ldapsUrl, '--ldap-ca', slapd.caFile);
    args.push('--ldap-base', `ou=people,${slapd.suffix}`, '--ldap-bind-dn', slapd.bindDn, '--ldap-bind-password', slapd.bindPassword);
    args.push('--client', `${RP.id}:${RP.secret}`, '--gateway-resource', GATEWAY_RESOURCE);
    for (const r of [ids.imap, ids.smtp, ids.pop3, ids.jmap]) args.push('--resource', r);
    provider = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      provider.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('"issuer"')) resolve();
      });
      provider.once('exit', (code) => reject(new Error(`provider exited with ${code}`)));
    });
    const conf = path.join(tmp, 'nginx.conf');
    await writeFile(
      conf,
      `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${gatewayPort};
    location = /_auth {
      internal;
      proxy_pass https://127.0.0.1:${providerPort}/gateway-auth;
      proxy_ssl_trusted_certificate ${tls.caCert};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
    location / {
      auth_request /_auth;
      auth_request_set $user $upstream_http_x_user;
      proxy_pass https://127.0.0.1:${fp.ports.https};
      proxy_ssl_trusted_certificate ${fp.caFile};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_set_header Authorization "";
      proxy_set_header X-User $user;
      proxy_set_header X-Fingerpost-Gateway-Secret ${GATEWAY_SECRET};
    }
  }
}
`,
    );
    nginx = spawn('nginx', ['-p', tmp, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (nginxLog = (nginxLog + d).slice(-20_000));
    nginx.stdout!.on('data', keep);
    nginx.stderr!.on('data', keep);
    await waitForPort(gatewayPort, nginx, () => nginxLog);
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    provider?.kill('SIGTERM');
    await fp?.close();
    await slapd?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the provider signs people in against LDAP: a wrong password or an unknown user gets no token', async () => {
    const ids = resourceIds(fp.config);
    assert.equal((await token(ids.imap, ALICE, 'not-the-password')).status, 400);
    assert.equal((await token(ids.imap, 'nobody@example.org', 'alice-password-1')).status, 400);
    assert.equal((await token('imap://elsewhere.example')).status, 400, 'a resource it does not issue for');
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
    const via = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${gatewayPort}/jmap/session`, { headers });
    const ok = await via({ authorization: `Bearer ${t}` });
    assert.equal(ok.status, 200, nginxLog);
    assert.equal(((await ok.json()) as { username: string }).username, ALICE);
    assert.equal((await via({})).status, 401);
    assert.equal((await via({ authorization: `Basic ${Buffer.from(`${ALICE}:alice-password-1`).toString('base64')}` })).status, 401);
    // The header alone, straight to Fingerpost without the gateway's secret, is ignored.
    const forged = await caFetch(fp.ca)(`${fp.baseUrl}/jmap/session`, { headers: { 'x-user': ALICE } });
    assert.equal(forged.status, 401);
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
