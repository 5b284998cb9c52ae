/**
 * Tokens revoked while they are still unexpired: by `jti` (an admin ended the session) or by OIDC
 * session `sid` (back-channel logout). Kept in memory until the token could no longer be valid
 * anyway; every node fills it from the shared events table.
 */
export class RevocationList {
  readonly #jti = new Map<string, number>();
  readonly #sid = new Map<string, number>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(now: () => number = Date.now, max = 100_000) {
    this.#now = now;
    this.#max = max;
  }

  /** Refuses the token with this `jti` until `until` (epoch ms; its expiry). */
  revokeJti(issuer: string, jti: string, until: number): void {
    this.#put(this.#jti, `${issuer}\0${jti}`, until);
  }

  /** Refuses tokens of this OIDC session until `until` (epoch ms). */
  revokeSid(issuer: string, sid: string, until: number): void {
    this.#put(this.#sid, `${issuer}\0${sid}`, until);
  }

  /** True when the token's `jti` or `sid` was revoked. */
  isRevoked(issuer: string, claims: { jti?: unknown; sid?: unknown }): boolean {
    const now = this.#now();
    const hit = (map: Map<string, number>, v: unknown) => {
      if (typeof v !== 'string') return false;
      const until = map.get(`${issuer}\0${v}`);
      return until !== undefined && until > now;
    };
    return hit(this.#jti, claims.jti) || hit(this.#sid, claims.sid);
  }

  #put(map: Map<string, number>, key: string, until: number): void {
    if (map.size >= this.#max) {
      const now = this.#now();
      for (const [k, v] of map) if (v <= now) map.delete(k);
      if (map.size >= this.#max) map.delete(map.keys().next().value!);
    }
    map.set(key, Math.max(until, map.get(key) ?? 0));
  }
}
