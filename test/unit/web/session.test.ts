// The account page's signed session cookie, CSRF tokens and the relying party's callback checks,
// on a fake clock: tampering, expiry, another session's token, a foreign state.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { readCookie, SESSION_COOKIE, setCookie, WebSessions } from '../../../src/web/session.ts';
import { localKeys, RelyingParty, SignInError } from '../../../src/web/sign-in.ts';

const secret = randomBytes(32).toString('base64url');

describe('account page sessions', () => {
  it('issues a cookie that reads back, and refuses it tampered, under another key or expired', () => {
    let now = 1_000_000;
    const web = new WebSessions(secret, { ttlMs: 60_000, now: () => now });
    const { value, session } = web.issue({ id: 7, address: 'a@example.test' }, 'https://example.test/oidc');
    const header = `other=1; ${SESSION_COOKIE}=${value}`;
    assert.deepEqual(web.read(header), session);
    const [body, mac] = value.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...session, accountId: 1 })).toString('base64url');
    assert.equal(web.read(`${SESSION_COOKIE}=${forged}.${mac}`), undefined, 'another body under the same MAC');
    assert.equal(web.read(`${SESSION_COOKIE}=${body}.${mac.slice(0, -2)}AA`), undefined, 'a changed MAC');
    assert.equal(new WebSessions(randomBytes(32).toString('base64url'), { ttlMs: 60_000, now: () => now }).read(header), undefined);
    now += 60_001;
    assert.equal(web.read(header), undefined, 'expired');
  });

  it('binds CSRF tokens to one session', () => {
    const web = new WebSessions(secret, { ttlMs: 60_000 });
    const a = web.issue({ id: 1, address: 'a@example.test' }, 'i').session;
    const b = web.issue({ id: 1, address: 'a@example.test' }, 'i').session;
    assert.equal(web.checkCsrf(a, web.csrf(a)), true);
    assert.equal(web.checkCsrf(a, web.csrf(b)), false);
    assert.equal(web.checkCsrf(a, undefined), false);
    assert.equal(web.checkCsrf(a, 'x'.repeat(500)), false);
  });

  it('writes HttpOnly, Secure, SameSite cookies and reads one cookie out of a header', () => {
    assert.equal(setCookie('n', 'v', 60, 'Strict'), 'n=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict');
    assert.equal(readCookie('a=1; b=2;c=3', 'c'), '3');
    assert.equal(readCookie('ab=1', 'a'), undefined);
  });
});

describe('account page relying party', () => {
  const rp = new RelyingParty({
    issuer: 'https://127.0.0.1:9/oidc',
    clientId: 'fingerpost-account',
    clientSecret: 's',
    redirectUri: 'https://example.test/account/callback',
    endpoints: async () => ({ authorization: 'https://127.0.0.1:9/oidc/auth', token: 'https://127.0.0.1:9/oidc/token' }),
    getKey: localKeys(async () => ({ keys: [] })),
    account: (claims) => (typeof claims.sub === 'string' ? claims.sub : undefined),
    leewaySec: 1,
  });

  it('asks for a code with PKCE S256, state and nonce', async () => {
    const { url, login } = await rp.start('/account/devices');
    const u = new URL(url);
    assert.equal(u.pathname, '/oidc/auth');
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(u.searchParams.get('state'), login.state);
    assert.equal(u.searchParams.get('nonce'), login.nonce);
    assert.ok(login.verifier.length >= 43, 'RFC 7636 §4.1: at least 43 characters');
    assert.equal(login.iss, 'https://127.0.0.1:9/oidc', 'the login remembers its issuer');
  });

  it('refuses a callback without the login state, with another state, or with an error', async () => {
    const { login } = await rp.start('/account');
    await assert.rejects(rp.finish(new URLSearchParams({ code: 'c', state: login.state }), undefined), SignInError);
    await assert.rejects(rp.finish(new URLSearchParams({ code: 'c', state: 'other' }), login), /does not belong/);
    await assert.rejects(rp.finish(new URLSearchParams({ error: 'access_denied', state: login.state }), login), /cancelled/);
  });
});
