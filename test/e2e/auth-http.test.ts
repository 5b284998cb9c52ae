// HTTP authentication end to end with curl over TLS: RFC 9728 metadata served by a running node,
// and a route protected by the auth core's fastify helper (Basic, Bearer, challenges).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { authOf, requireAuth } from '../../src/auth/http/fastify.ts';
import { parseWwwAuthenticate } from '../../src/auth/sasl/www-authenticate.ts';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { IssuerFixture } from '../unit/auth/issuer-fixture.ts';

const exec = promisify(execFile);
const curlSkip = commandSkip('curl', 'curl');

/** Runs curl and splits the response into status, header lines and body. */
async function curl(args: string[]): Promise<{ status: number; headers: Array<[string, string]>; body: string }> {
  const { stdout } = await exec('curl', ['-sS', '-i', ...args], { encoding: 'utf8' });
  const [head, ...rest] = stdout.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  });
  return { status, headers, body: rest.join('\r\n\r\n') };
}

describe('HTTP authentication with curl', { skip: curlSkip }, () => {
  let t: TestServer;
  let idp: IssuerFixture;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    idp = await new IssuerFixture().start();
    t = await startTestServer({ overrides: { auth: { issuers: [{ issuer: idp.issuer }] } } });
    // A protected route on its own HTTPS server, using the node's auth core as JMAP would.
    app = Fastify({ https: { cert: t.server.tls.cert, key: t.server.tls.key } });
    const resource = resourceIds(t.config).jmap;
    app.get('/jmap/session', { preHandler: requireAuth(t.services.auth.http, { resource }) }, async (request) => {
      const auth = authOf(request)!;
      return { username: auth.account.address, method: auth.method };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `https://localhost:${(app.server.address() as AddressInfo).port}/jmap/session`;
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await idp?.close();
  });

  it('serves RFC 9728 protected-resource metadata naming the trusted issuers', async () => {
    const r = await curl(['--cacert', t.caFile, `${t.baseUrl}/.well-known/oauth-protected-resource/jmap/session`]);
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.body);
    assert.equal(doc.resource, resourceIds(t.config).jmap);
    assert.ok(doc.authorization_servers.includes(idp.issuer));
    assert.deepEqual(
      doc.authorization_servers,
      t.services.auth.issuers.list().map((i) => i.issuer),
      'every trusted issuer, the embedded provider too',
    );
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
    assert.ok(doc.scopes_supported.includes(SCOPES.mail));
    const cal = JSON.parse((await curl(['--cacert', t.caFile, `${t.baseUrl}/.well-known/oauth-protected-resource/calendar`])).body);
    assert.equal(cal.resource, resourceIds(t.config).calendar);
  });

  it('answers no credentials with 401, two challenge lines and problem JSON', async () => {
    const r = await curl(['--cacert', t.caFile, url]);
    assert.equal(r.status, 401);
    const lines = r.headers.filter(([k]) => k === 'www-authenticate').map(([, v]) => v);
    assert.equal(lines.length, 2);
    const [bearer] = parseWwwAuthenticate(lines[0]!);
    assert.equal(bearer!.scheme, 'Bearer');
    assert.equal(bearer!.params.resource_metadata, `${t.baseUrl}/.well-known/oauth-protected-resource/jmap/session`);
    assert.equal(parseWwwAuthenticate(lines[1]!)[0]!.scheme, 'Basic');
    assert.match(r.headers.find(([k]) => k === 'content-type')![1], /application\/problem\+json/);
    assert.equal(JSON.parse(r.body).status, 401);
  });

  it('accepts Basic credentials (curl -u)', async () => {
    const r = await curl(['--cacert', t.caFile, '-u', `${t.admin.address}:${t.admin.password}`, url]);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { username: t.admin.address, method: 'password' });
  });

  it('accepts a Bearer token (curl --oauth2-bearer) and explains a wrong one', async () => {
    const token = await idp.sign({ email: t.admin.address, aud: resourceIds(t.config).jmap, scope: SCOPES.mail });
    const ok = await curl(['--cacert', t.caFile, '--oauth2-bearer', token, url]);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).method, 'bearer');
    const wrong = await idp.sign({ email: t.admin.address, aud: 'https://elsewhere.example/jmap', scope: SCOPES.mail });
    const bad = await curl(['--cacert', t.caFile, '--oauth2-bearer', wrong, url]);
    assert.equal(bad.status, 401);
    const line = bad.headers.find(([k, v]) => k === 'www-authenticate' && v.startsWith('Bearer'))![1];
    assert.equal(parseWwwAuthenticate(line)[0]!.params.error, 'invalid_token');
    assert.equal(parseWwwAuthenticate(line)[0]!.params.error_description, 'The access token is for another audience');
    assert.ok(!bad.body.includes(wrong), 'the token is never echoed');
  });

  it('answers a token without the mail scope with 403 insufficient_scope', async () => {
    const token = await idp.sign({ email: t.admin.address, aud: resourceIds(t.config).jmap, scope: 'openid' });
    const r = await curl(['--cacert', t.caFile, '--oauth2-bearer', token, url]);
    assert.equal(r.status, 403);
    assert.match(r.headers.find(([k]) => k === 'www-authenticate')![1], /error="insufficient_scope"/);
  });
});
