// Pure parts of the embedded provider: registration policy, resource defaults, CSRF tokens, the
// rate limiter, and page rendering (escaping, CSP).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourceIds, SCOPES } from '../../../src/config/resources.ts';
import { CsrfTokens } from '../../../src/idp/csrf.ts';
import { consentPage, html, loginPage, originOf, pageCsp } from '../../../src/idp/pages.ts';
import { WindowLimiter } from '../../../src/idp/rate-limit.ts';
import { applyRegistrationPolicy, selfRegisteredRedirectProblem } from '../../../src/idp/registration-policy.ts';
import { asList, defaultResourcesFor, knownResources } from '../../../src/idp/resources.ts';

describe('open registration policy (RFC 7591, native public clients)', () => {
  const run = (sent: Record<string, unknown>) => {
    // oidc-provider fills its defaults in before the policy runs.
    const metadata: Record<string, unknown> = {
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
      grant_types: ['authorization_code'],
      ...sent,
    };
    applyRegistrationPolicy(metadata, sent);
    return metadata;
  };

  it('turns a minimal request into a native public client with code + refresh', () => {
    const m = run({ redirect_uris: ['http://127.0.0.1/cb'] });
    assert.equal(m.token_endpoint_auth_method, 'none');
    assert.equal(m.application_type, 'native');
    assert.deepEqual(m.grant_types, ['authorization_code', 'refresh_token']);
  });

  it('keeps what a public native client asked for', () => {
    const m = run({
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
    });
    assert.deepEqual(m.grant_types, ['urn:ietf:params:oauth:grant-type:device_code']);
  });

  const refused: Array<[string, Record<string, unknown>]> = [
    ['a confidential client', { token_endpoint_auth_method: 'client_secret_basic' }],
    ['private_key_jwt', { token_endpoint_auth_method: 'private_key_jwt' }],
    ['a web application', { application_type: 'web' }],
    ['a jwks_uri (server-side fetch)', { jwks_uri: 'https://169.254.169.254/keys' }],
    ['a back-channel logout URI', { backchannel_logout_uri: 'http://10.0.0.1/logout' }],
    ['a sector identifier', { sector_identifier_uri: 'https://x.example/s.json' }],
    ['client_credentials', { grant_types: ['client_credentials'] }],
    ['implicit', { grant_types: ['implicit'] }],
    ['a non-array grant_types', { grant_types: 'authorization_code' }],
    ['token response type', { response_types: ['code', 'token'] }],
    ['a web-site post-logout redirect', { post_logout_redirect_uris: ['https://evil.example/'] }],
  ];
  for (const [what, sent] of refused) {
    it(`refuses ${what} with invalid_client_metadata`, () => {
      assert.throws(
        () => run(sent),
        (err: { error?: string }) => err.error === 'invalid_client_metadata',
      );
    });
  }
});

describe('redirects of self-registered clients (RFC 8252 §7)', () => {
  it('allows loopback http and reverse-domain private-use schemes', () => {
    for (const uri of [
      'http://127.0.0.1/cb',
      'http://127.0.0.1:53682/cb',
      'http://[::1]/cb',
      'http://localhost/cb',
      'com.example.mail:/cb',
    ])
      assert.equal(selfRegisteredRedirectProblem(uri), undefined, uri);
  });

  it('refuses web sites, schemes that open one, and non-URIs', () => {
    for (const uri of [
      'https://evil.example/',
      'https://127.0.0.1/cb',
      'http://evil.example/',
      'http://127.0.0.1.evil.example/',
      'x-safari-https://evil.example/',
      'intent://evil.example/#Intent;scheme=https;end',
      'javascript:alert(1)',
      'data:text/html,x',
      'not a uri',
      42,
    ])
      assert.ok(selfRegisteredRedirectProblem(uri), String(uri));
  });

  it('applies the same rule to redirect_uris (invalid_redirect_uri) and post_logout_redirect_uris', () => {
    const run = (sent: Record<string, unknown>) => applyRegistrationPolicy({ grant_types: ['authorization_code'], ...sent }, sent);
    assert.throws(
      () => run({ redirect_uris: ['https://evil.example/cb'] }),
      (err: { error?: string }) => err.error === 'invalid_redirect_uri',
    );
    assert.throws(
      () => run({ redirect_uris: ['http://127.0.0.1/cb'], post_logout_redirect_uris: ['https://evil.example/'] }),
      (err: { error?: string; error_description?: string }) =>
        err.error === 'invalid_client_metadata' && /post_logout_redirect_uris/.test(err.error_description ?? ''),
    );
    run({ redirect_uris: ['http://127.0.0.1/cb'], post_logout_redirect_uris: ['http://127.0.0.1/bye'] });
  });
});

describe('resources (RFC 8707)', () => {
  const ids = resourceIds({ server: { hostname: 'mail.example.test' } as never, publicUrl: 'https://mail.example.test' });

  it('defaults the mail scope to every mail service and the calendars scope to the calendar', () => {
    assert.deepEqual(defaultResourcesFor(`openid ${SCOPES.mail}`, ids), [
      'imap://mail.example.test',
      'pop3://mail.example.test',
      'smtp://mail.example.test',
      'https://mail.example.test/jmap/session',
    ]);
    assert.deepEqual(defaultResourcesFor(SCOPES.calendars, ids), ['https://mail.example.test/calendar']);
    assert.deepEqual(defaultResourcesFor('openid email', ids), []);
    assert.deepEqual(defaultResourcesFor(undefined, ids), []);
    assert.equal(knownResources(ids).length, 5);
  });

  it('reads resource parameters as lists', () => {
    assert.deepEqual(asList(undefined), []);
    assert.deepEqual(asList('imap://a'), ['imap://a']);
    assert.deepEqual(asList(['imap://a', 'smtp://a', 3]), ['imap://a', 'smtp://a']);
  });
});

describe('CSRF tokens', () => {
  const csrf = new CsrfTokens(Buffer.alloc(32, 7).toString('base64url'));
  it('accepts the token of the same interaction only', () => {
    const t = csrf.issue('uid-1');
    assert.equal(csrf.verify('uid-1', t), true);
    assert.equal(csrf.verify('uid-2', t), false);
    assert.equal(csrf.verify('uid-1', `${t}x`), false);
    assert.equal(csrf.verify('uid-1', undefined), false);
    assert.equal(csrf.verify('uid-1', ['a']), false);
    assert.equal(csrf.verify('uid-1', 'x'.repeat(5000)), false);
    assert.notEqual(new CsrfTokens(Buffer.alloc(32, 8).toString('base64url')).issue('uid-1'), t, 'bound to the server secret');
  });
});

describe('window rate limiter', () => {
  it('counts hits per key, blocks past the limit, and resets after the window', () => {
    let now = 1000;
    const limiter = new WindowLimiter({ limit: 2, windowMs: 10_000, now: () => now });
    assert.equal(limiter.hit('a'), 0);
    assert.equal(limiter.hit('a'), 0);
    assert.equal(limiter.blockedFor('a'), 10_000);
    assert.equal(limiter.hit('a'), 10_000);
    assert.equal(limiter.blockedFor('b'), 0, 'keys are independent');
    now += 10_000;
    assert.equal(limiter.blockedFor('a'), 0);
    limiter.hit('c');
    limiter.hit('c');
    limiter.reset('c');
    assert.equal(limiter.blockedFor('c'), 0);
  });

  it('stays bounded in memory', () => {
    const limiter = new WindowLimiter({ limit: 1, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) limiter.hit(`k${i}`);
    assert.equal(limiter.blockedFor('k999') > 0, true);
    assert.equal(limiter.blockedFor('k0'), 0, 'the oldest keys were dropped');
  });
});

describe('provider pages', () => {
  const client = { name: '<script>alert(1)</script>', id: 'c1', verified: false };

  it('escapes everything a client or user controls', () => {
    assert.equal(html(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
    const login = loginPage({
      serverName: 'Fingerpost',
      action: '/oidc/interaction/u/login',
      abortAction: '/a',
      csrf: 'tok"en',
      client,
      email: '"><img>',
      error: '<b>',
    });
    assert.doesNotMatch(login, /<script>|<img>|<b>/);
    assert.match(login, /&lt;script&gt;/);
    assert.match(login, /value="tok&quot;en"/);
    assert.match(login, /not verified by this server/);
    const consent = consentPage({
      serverName: 'Fingerpost',
      action: '/c',
      abortAction: '/a',
      csrf: 't',
      client: { name: 'Webmail', id: 'w', verified: true },
      account: 'dave@example.test',
      scopes: ['openid', SCOPES.mail, 'weird<scope>'],
      resources: ['imap://x'],
      device: true,
    });
    assert.match(consent, /<strong>Webmail<\/strong>/);
    assert.match(consent, /Read, send and organise your mail/);
    assert.match(consent, /weird&lt;scope&gt;/);
    assert.match(consent, /code matched/);
    assert.doesNotMatch(consent, /<script/i, 'no script at all');
  });

  it('sends a strict CSP whose form-action names only this origin and the client redirect origin', () => {
    const csp = pageCsp(['http://127.0.0.1:5000', "https://x.example; script-src 'unsafe-inline'"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /base-uri 'none'/);
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:5000;/);
    assert.doesNotMatch(csp, /unsafe-inline/, 'a hostile redirect URI cannot inject directives');
    assert.equal(originOf('http://127.0.0.1:5000/cb?x=1'), 'http://127.0.0.1:5000');
    assert.equal(originOf('com.example.mail:/oauth2redirect'), undefined);
    assert.equal(originOf(42), undefined);
  });
});
