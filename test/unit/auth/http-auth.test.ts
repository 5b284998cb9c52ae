// HTTP strategies (issue 3 step 4): Basic, Bearer and the trusted gateway header, chained in
// configured order; one WWW-Authenticate challenge per enabled scheme, Bearer errors only when a
// token was sent, 403 for insufficient scope.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HttpAuthOutcome, HttpAuthRequest } from '../../../src/auth/http/authenticator.ts';
import { resourceMetadataUrl } from '../../../src/auth/http/challenges.ts';
import { parseWwwAuthenticate } from '../../../src/auth/sasl/www-authenticate.ts';
import { AuthService } from '../../../src/auth/service.ts';
import { SCOPES } from '../../../src/config/resources.ts';
import { type AuthFixture, authFixture } from './fixture.ts';
import { IssuerFixture } from './issuer-fixture.ts';

const HOST = 'mail.example.test';
const JMAP = `https://${HOST}:8443/jmap/session`;
const CAL = `https://${HOST}:8443/calendar`;
const SECRET = 'gateway-secret-0123456789';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const req = (headers: Record<string, string>, extra: Partial<HttpAuthRequest> = {}): HttpAuthRequest => ({
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  remote: '192.0.2.30',
  tls: true,
  resource: JMAP,
  ...extra,
});
const challenges = (o: HttpAuthOutcome) => (o.ok ? [] : ([...((o.headers['www-authenticate'] as string[] | undefined) ?? [])] as string[]));

describe('HTTP authentication', () => {
  let f: AuthFixture;
  let idp: IssuerFixture;
  let auth: AuthService;
  const make = (authConfig: Record<string, unknown> = {}) =>
    new AuthService({
      config: f.config({ server: { hostname: HOST }, auth: { issuers: [{ issuer: idp.issuer }], ...authConfig } }),
      directory: f.directory,
      logger: f.logger,
    });

  before(async () => {
    f = await authFixture();
    idp = await new IssuerFixture().start();
    auth = make();
  });
  after(async () => {
    await idp.close();
    await f.close();
  });

  it('answers a request without credentials with 401 and one challenge per scheme, no error', async () => {
    const o = await auth.http.authenticate(req({}));
    assert.equal(o.ok, false);
    assert.equal(!o.ok && o.status, 401);
    const lines = challenges(o);
    assert.equal(lines.length, 2);
    assert.deepEqual(parseWwwAuthenticate(lines[0]!), [
      {
        scheme: 'Bearer',
        params: {
          realm: HOST,
          resource_metadata: `https://${HOST}:8443/.well-known/oauth-protected-resource/jmap/session`,
          scope: SCOPES.mail,
        },
      },
    ]);
    assert.deepEqual(parseWwwAuthenticate(lines[1]!), [{ scheme: 'Basic', params: { realm: HOST, charset: 'UTF-8' } }]);
  });

  it('names the calendar scope on calendar resources', async () => {
    const o = await auth.http.authenticate(req({}, { resource: CAL }));
    assert.equal(parseWwwAuthenticate(challenges(o)[0]!)[0]!.params.scope, SCOPES.calendars);
  });

  it('builds RFC 9728 metadata URLs (STANDARDS §10 vector)', () => {
    assert.equal(
      resourceMetadataUrl('https://jmap.example.com/session'),
      'https://jmap.example.com/.well-known/oauth-protected-resource/session',
    );
    assert.equal(resourceMetadataUrl('https://jmap.example.com/'), 'https://jmap.example.com/.well-known/oauth-protected-resource');
    assert.equal(resourceMetadataUrl('imap://mail.example.com'), undefined);
    assert.equal(resourceMetadataUrl('not a url'), undefined);
  });

  it('accepts Basic with the right password and with an http app password', async () => {
    const o = await auth.http.authenticate(req({ authorization: basic('alice@example.test', 'correct horse') }));
    assert.ok(o.ok && o.result.account.address === 'alice@example.test' && o.result.method === 'password');
    const { secret } = await f.accounts.createAppPassword({
      address: 'alice@example.test',
      name: 'dav',
      protocols: ['http'],
      expiresAt: null,
    });
    const a = await auth.http.authenticate(req({ authorization: basic('alice@example.test', secret) }));
    assert.ok(a.ok && a.result.method === 'app_password');
  });

  it('answers wrong or malformed Basic with 401 and challenges, no Bearer error', async () => {
    for (const authorization of [
      basic('alice@example.test', 'nope'),
      'Basic !!!',
      'Basic ' + Buffer.from('no-colon').toString('base64'),
      'basic',
    ]) {
      const o = await auth.http.authenticate(req({ authorization }));
      assert.equal(!o.ok && o.status, 401, authorization);
      assert.ok(
        challenges(o).every((l) => !l.includes('error=')),
        authorization,
      );
    }
  });

  it('accepts a Bearer token for the resource', async () => {
    const token = await idp.sign({ email: 'alice@example.test', aud: JMAP, scope: SCOPES.mail });
    const o = await auth.http.authenticate(req({ authorization: `Bearer ${token}` }));
    assert.ok(o.ok, JSON.stringify(o));
    assert.equal(o.result.method, 'bearer');
  });

  const bearerCases: Array<[string, () => Promise<string>, number, Record<string, string>]> = [
    [
      'expired',
      async () => idp.sign({ email: 'alice@example.test', aud: JMAP, scope: SCOPES.mail, exp: Math.floor(Date.now() / 1000) - 600 }),
      401,
      { error: 'invalid_token', error_description: 'The access token expired' },
    ],
    [
      'for another audience',
      async () => idp.sign({ email: 'alice@example.test', aud: `imap://${HOST}`, scope: SCOPES.mail }),
      401,
      { error: 'invalid_token', error_description: 'The access token is for another audience' },
    ],
    ['revoked (unknown garbage)', async () => 'opaque.garbage', 401, { error: 'invalid_token' }],
    [
      'without the scope',
      async () => idp.sign({ email: 'alice@example.test', aud: JMAP, scope: 'openid' }),
      403,
      { error: 'insufficient_scope', scope: SCOPES.mail },
    ],
  ];
  for (const [name, token, status, params] of bearerCases) {
    it(`answers a Bearer token ${name} with ${status} and error details`, async () => {
      const o = await auth.http.authenticate(req({ authorization: `Bearer ${await token()}` }));
      assert.equal(!o.ok && o.status, status);
      const lines = challenges(o);
      const bearer = parseWwwAuthenticate(lines.find((l) => l.startsWith('Bearer'))!)[0]!;
      for (const [k, v] of Object.entries(params)) assert.equal(bearer.params[k], v);
      assert.ok(bearer.params.resource_metadata);
      if (status === 403) assert.equal(lines.length, 1, 'a 403 carries only the Bearer challenge');
    });
  }

  it('answers a malformed Bearer header with 400 invalid_request', async () => {
    const o = await auth.http.authenticate(req({ authorization: 'Bearer a b c' }));
    assert.equal(!o.ok && o.status, 400);
    assert.match(challenges(o)[0]!, /error="invalid_request"/);
  });

  it('treats an unsupported scheme like no credentials (no error, RFC 6750 §3.1)', async () => {
    const o = await auth.http.authenticate(req({ authorization: 'Digest username="x"' }));
    assert.equal(!o.ok && o.status, 401);
    assert.ok(challenges(o).every((l) => !l.includes('error=')));
  });

  it('answers a disabled account with 403', async () => {
    await f.accounts.addUser({ address: 'frank@example.test', password: 'frank password' });
    await f.accounts.setDisabled('frank@example.test', true);
    const o = await auth.http.authenticate(req({ authorization: basic('frank@example.test', 'frank password') }));
    assert.equal(!o.ok && o.status, 403);
  });

  it('follows the configured order and leaves out Basic when passwords are off', async () => {
    const basicFirst = make({ http_schemes: ['basic', 'bearer'] });
    assert.match(challenges(await basicFirst.http.authenticate(req({})))[0]!, /^Basic /);
    const noPlain = make({ plain: false });
    const o = await noPlain.http.authenticate(req({ authorization: basic('alice@example.test', 'correct horse') }));
    assert.equal(!o.ok && o.status, 401);
    assert.deepEqual(
      challenges(o).map((l) => l.split(' ')[0]),
      ['Bearer'],
    );
  });

  it('answers 403 when no scheme is enabled at all', async () => {
    const none = make({ plain: false, oauth: false });
    const o = await none.http.authenticate(req({}));
    assert.equal(!o.ok && o.status, 403);
  });

  describe('trusted gateway header', () => {
    let gw: AuthService;
    before(() => {
      gw = make({
        http_schemes: ['gateway', 'bearer', 'basic'],
        gateway: { header: 'X-Remote-User', from: ['10.0.0.0/8'], secret: SECRET },
      });
    });
    it('is honoured from an allow-listed proxy carrying the secret', async () => {
      const o = await gw.http.authenticate(
        req({ 'x-remote-user': 'alice@example.test', 'x-fingerpost-gateway-secret': SECRET }, { remote: '10.1.2.3' }),
      );
      assert.ok(o.ok && o.result.method === 'gateway' && o.result.account.address === 'alice@example.test');
    });
    it('is ignored from an untrusted address', async () => {
      const o = await gw.http.authenticate(
        req({ 'x-remote-user': 'alice@example.test', 'x-fingerpost-gateway-secret': SECRET }, { remote: '192.0.2.99' }),
      );
      assert.equal(!o.ok && o.status, 401);
    });
    it('is ignored without the right secret', async () => {
      const cases: Array<Record<string, string>> = [
        { 'x-remote-user': 'alice@example.test' },
        { 'x-remote-user': 'alice@example.test', 'x-fingerpost-gateway-secret': 'wrong' },
      ];
      for (const headers of cases) {
        const o = await gw.http.authenticate(req(headers, { remote: '10.1.2.3' }));
        assert.equal(!o.ok && o.status, 401);
      }
    });
    it('falls through to other schemes when the header is ignored', async () => {
      const o = await gw.http.authenticate(
        req({ 'x-remote-user': 'bob@example.test', authorization: basic('alice@example.test', 'correct horse') }, { remote: '192.0.2.99' }),
      );
      assert.ok(o.ok && o.result.account.address === 'alice@example.test');
    });
    it('refuses an unknown account', async () => {
      const o = await gw.http.authenticate(
        req({ 'x-remote-user': 'nobody@example.test', 'x-fingerpost-gateway-secret': SECRET }, { remote: '10.1.2.3' }),
      );
      assert.equal(!o.ok && o.status, 401);
    });
    it('needs a secret and proxy addresses in config', async () => {
      const { loadConfig } = await import('../../../src/config/load.ts');
      assert.throws(() => loadConfig({ dataDir: f.dir, env: {}, overrides: { auth: { http_schemes: ['gateway'] } } }), /gateway/);
    });
  });
});
