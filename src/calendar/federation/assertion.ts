import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';

/**
 * The free/busy assertion: a short-lived JWT in the style of RFC 7523 §3 that one server signs for
 * one of its users, naming the asker (`sub`), its issuer (`iss`, found through WebFinger for the
 * asker's address) and the exact free/busy URL it is for (`aud`). Explicitly typed (RFC 8725 §3.11)
 * so it can never pass for an access token or an ID token, and the reverse.
 */

/** JWT `typ` header of an assertion. */
export const ASSERTION_TYP = 'freebusy-assertion+jwt';

/** HTTP authentication scheme that carries an assertion: `Authorization: Assertion <jwt>`. */
export const ASSERTION_SCHEME = 'Assertion';

/** Asymmetric algorithms accepted on assertions; never `none`, never HMAC. */
export const ASSERTION_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Signs with the keys this server publishes in its issuer's JWKS (main.ts wires the embedded provider's). */
export interface AssertionSigner {
  /** The issuer identifier WebFinger names for this server's users (`PUBLIC_URL/oidc`). */
  readonly issuer: string;
  /** A compact JWS over `payload` with the current key, its `kid` and the given `typ`. */
  sign(payload: Record<string, unknown>, typ: string): Promise<string>;
}

/** A private JWK with the `kid` and `alg` it is published under. */
export interface CurrentKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: JWK;
}

/** An `AssertionSigner` over whichever key is current when it signs (so key rotation needs no restart). */
export function jwkSigner(issuer: string, current: () => Promise<CurrentKey>): AssertionSigner {
  return {
    issuer,
    async sign(payload, typ) {
      const key = await current();
      const privateKey = await importJWK(key.privateJwk, key.alg);
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(privateKey);
    },
  };
}

/**
 * The newest of `keys` (newest first) that the published JWKS already lists: a key is used for
 * assertions only once this node serves it, so a verifier that fetches the JWKS finds it.
 */
export function newestPublished(
  keys: readonly CurrentKey[],
  published: { readonly keys: ReadonlyArray<{ readonly kid?: string }> },
): CurrentKey {
  const kids = new Set(published.keys.map((k) => k.kid));
  const key = keys.find((k) => kids.has(k.kid));
  if (!key) throw new Error('no signing key is published yet');
  return key;
}

/** The assertion for `asker` to ask the free/busy URL `audience`, valid `lifetimeMs`. */
export function signAssertion(
  signer: AssertionSigner,
  asker: string,
  audience: string,
  lifetimeMs: number,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return signer.sign(
    {
      iss: signer.issuer,
      sub: asker,
      aud: audience,
      iat,
      exp: iat + Math.max(1, Math.round(lifetimeMs / 1000)),
      jti: randomUUID(),
    },
    ASSERTION_TYP,
  );
}
