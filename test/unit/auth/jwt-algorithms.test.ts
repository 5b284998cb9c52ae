// JWS signatures checked by the auth core's own verifier (src/auth/verifiers/jwt.ts): every
// algorithm of the `[[auth.issuers]]` allow-list (RFC 7518 §3, RFC 8037 §3.1) against tokens
// signed by jose, plus the refusals: tampered signature, wrong-length ECDSA signature, a key of
// the wrong curve, an algorithm off the list, and `crit` (RFC 7515 §4.1.11).
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { IssuerRegistry } from '../../../src/auth/issuers/registry.ts';
import { decodeJwt, ecdsaDer, verifyJwt } from '../../../src/auth/verifiers/jwt.ts';

const ISSUER = 'https://idp.alg.test';
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const NOW = Date.UTC(2030, 0, 1);
const claims = { sub: 'alice', client_id: 'c', jti: 'j1', email: 'alice@example.test', aud: 'imap' };

async function setup() {
  const keys: Array<{ alg: string; kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK }> = [];
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    keys.push({ alg, kid: `k-${alg}`, privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `k-${alg}` } });
  }
  const registry = new IssuerRegistry({ now: () => NOW });
  const issuer = registry.addInProcess({
    issuer: ISSUER,
    jwks: () => ({ keys: keys.map((k) => k.jwk) }),
    options: { algorithms: [...ALGS] },
  });
  const sign = (k: (typeof keys)[number], header: Record<string, unknown> = {}) =>
    new SignJWT({ ...claims, iss: ISSUER })
      .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt', ...header })
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 600)
      .sign(k.privateKey);
  const check = async (token: string) => {
    const d = decodeJwt(token);
    assert.ok(d.ok);
    return verifyJwt(d, issuer, 60, NOW);
  };
  return { keys, issuer, registry, sign, check };
}

describe('JWT signature algorithms (RFC 7518 §3, RFC 8037)', () => {
  it('accepts a token signed with each allowed algorithm and refuses it with one byte changed', async () => {
    const { keys, sign, check } = await setup();
    for (const k of keys) {
      const token = await sign(k);
      assert.deepEqual(await check(token).then((r) => r.ok), true, k.alg);
      const dot = token.lastIndexOf('.');
      const sig = Buffer.from(token.slice(dot + 1), 'base64url');
      sig[sig.length - 1]! ^= 1;
      const refused = await check(`${token.slice(0, dot)}.${sig.toString('base64url')}`);
      assert.deepEqual(refused, { ok: false, tokenError: 'The token signature is invalid' }, k.alg);
    }
  });

  it('refuses an ECDSA signature of the wrong length, a key of another curve, an algorithm off the list, and crit', async () => {
    const { keys, sign, check, registry } = await setup();
    const es256 = keys.find((k) => k.alg === 'ES256')!;
    const token = await sign(es256);
    const dot = token.lastIndexOf('.');
    const short = Buffer.from(token.slice(dot + 1), 'base64url').subarray(0, 63);
    assert.equal((await check(`${token.slice(0, dot)}.${short.toString('base64url')}`)).ok, false);
    // The ES384 key named for an ES256 token: no key of the right curve.
    const wrongCurve = await sign(es256, { kid: 'k-ES384' });
    assert.deepEqual(await check(wrongCurve), { ok: false, tokenError: 'The token was signed with an unknown key' });
    const strict = registry.addInProcess({
      issuer: `${ISSUER}/strict`,
      jwks: () => ({ keys: keys.map((k) => k.jwk) }),
      options: { algorithms: ['RS256'] },
    });
    const d = decodeJwt(token);
    assert.ok(d.ok);
    assert.deepEqual(await verifyJwt(d, strict, 60, NOW), { ok: false, tokenError: 'The token signature algorithm is not allowed' });
    const crit = await sign(es256, { crit: ['exp'] }).catch(() => undefined);
    if (crit) assert.equal((await check(crit)).ok, false);
  });

  it('converts r||s to a DER ECDSA-Sig-Value node:crypto accepts, for P-256, P-384 and P-521', () => {
    for (const [curve, size, hash] of [
      ['P-256', 32, 'sha256'],
      ['P-384', 48, 'sha384'],
      ['P-521', 66, 'sha512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      // Enough signatures that some r or s start with a zero octet or have the high bit set.
      for (let i = 0; i < 200; i++) {
        const data = Buffer.from(`message ${i}`);
        const p1363 = nodeSign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        assert.ok(nodeVerify(hash, data, publicKey, ecdsaDer(p1363, size)!), `${curve} signature ${i}`);
        assert.ok(!nodeVerify(hash, Buffer.from('other'), publicKey, ecdsaDer(p1363, size)!));
      }
      assert.equal(ecdsaDer(Buffer.alloc(2 * size - 1), size), undefined);
    }
  });
});
