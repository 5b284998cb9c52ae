// Logout tokens (OIDC Back-Channel Logout 1.0 §2.4, §2.6): every rule has a case that breaks it.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { IssuerRegistry } from '../../../src/auth/issuers/registry.ts';
import { checkLogoutToken } from '../../../src/idp/backchannel-receiver.ts';

const ISSUER = 'https://sso.example.test/realms/staff';
const NOW = 1_800_000_000_000;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { privateKey: otherKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };

function registry(options: Record<string, unknown> = {}): IssuerRegistry {
  const r = new IssuerRegistry({ now: () => NOW });
  r.addInProcess({ issuer: ISSUER, jwks: () => ({ keys: [jwk] }), options: { client_id: 'fingerpost', ...options } });
  return r;
}

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

async function logoutToken(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: typeof privateKey = privateKey,
): Promise<string> {
  const iat = Math.floor(NOW / 1000) - 5;
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: 'fingerpost',
    iat,
    exp: iat + 120,
    jti: 'j-1',
    sid: 'sid-1',
    events: EVENT,
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload as Record<string, unknown>)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt', ...header })
    .sign(key);
}

const check = (token: string, r = registry()) => checkLogoutToken(token, r, { leewaySec: 60, now: () => NOW });

describe('logout token validation', () => {
  it('accepts a well-formed logout token and returns its sid', async () => {
    const r = await check(await logoutToken());
    assert.deepEqual(r, { ok: true, issuer: ISSUER, sid: 'sid-1', jti: 'j-1' });
    assert.equal((await check(await logoutToken({}, { typ: undefined }))).ok, true, 'typ is optional');
  });

  const refused: Array<[string, RegExp, () => Promise<string>, ReturnType<typeof registry>?]> = [
    ['not a JWT', /not a JWT/, async () => 'garbage'],
    ['an unknown issuer', /does not trust/, () => logoutToken({ iss: 'https://elsewhere.example' })],
    ['a signature by another key', /did not validate/, () => logoutToken({}, {}, otherKey)],
    ['another audience', /did not validate/, () => logoutToken({ aud: 'someone-else' })],
    ['an access token replayed as a logout token (typ at+jwt)', /typ/, () => logoutToken({}, { typ: 'at+jwt' })],
    ['no events claim', /events/, () => logoutToken({ events: undefined })],
    ['events without the back-channel logout member', /events/, () => logoutToken({ events: { 'urn:other': {} } })],
    ['a nonce (an ID token)', /nonce/, () => logoutToken({ nonce: 'n' })],
    ['no sid', /without sid/, () => logoutToken({ sid: undefined, sub: 'user-1' })],
    ['no jti', /did not validate/, () => logoutToken({ jti: undefined })],
    ['an old iat', /did not validate/, () => logoutToken({ iat: Math.floor(NOW / 1000) - 3600, exp: Math.floor(NOW / 1000) + 60 })],
    ['an expired token', /did not validate/, () => logoutToken({ exp: Math.floor(NOW / 1000) - 600 })],
    ['an issuer with back-channel logout off', /is off/, () => logoutToken(), registry({ backchannel_logout: false })],
    ['an issuer without client_id', /client_id/, () => logoutToken(), registry({ client_id: '' })],
    [
      'alg none',
      /did not validate/,
      async () =>
        `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'fingerpost', sid: 's', jti: 'j', iat: NOW / 1000, events: EVENT })).toString('base64url')}.`,
    ],
  ];
  for (const [what, reason, make, reg] of refused) {
    it(`refuses ${what}`, async () => {
      const r = await check(await make(), reg);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : '', reason);
    });
  }
});
