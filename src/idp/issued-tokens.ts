import type { Db } from '../store/db.ts';

/** A JWT access token the embedded provider signed (RFC 9068 claims that revocation needs). */
export interface IssuedToken {
  readonly jti: string;
  /** oidc-provider grant the token came from; null for `admin token issue`. */
  readonly grantId: string | null;
  /** The provider's browser session (its uid) behind the grant, when there was one. */
  readonly sid: string | null;
  readonly account: string;
  readonly clientId: string;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What a revocation reached: the ids (`jti`) of tokens whose live sessions must end. */
export interface RevokedSet {
  readonly jtis: readonly string[];
  /** The latest expiry among them (epoch ms): how long a denylist must remember them. */
  readonly until: number;
}

/**
 * The ledger of JWT access tokens issued here (table `idp_tokens`). JWTs are checked offline, so
 * revoking a grant, a refresh token or an OIDC session (RFC 7009 §2, OIDC RP-Initiated Logout)
 * needs this list to find the tokens — and the live sessions — it must end.
 */
export class IssuedTokens {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  async record(token: IssuedToken): Promise<void> {
    await this.#db.kysely
      .insertInto('idp_tokens')
      .values({
        jti: token.jti,
        grant_id: token.grantId,
        sid: token.sid,
        account: token.account,
        client_id: token.clientId,
        issued_at: token.issuedAt,
        expires_at: token.expiresAt,
        revoked_at: null,
      })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  /** Revokes every unexpired token of a grant; returns what was reached. */
  revokeGrant(grantId: string): Promise<RevokedSet> {
    return this.#revokeWhere('grant_id', grantId);
  }

  /** Revokes every unexpired token minted under a provider browser session (its uid). */
  revokeSession(sid: string): Promise<RevokedSet> {
    return this.#revokeWhere('sid', sid);
  }

  /** Revokes every unexpired token of a client (the client was removed). */
  revokeClient(clientId: string): Promise<RevokedSet> {
    return this.#revokeWhere('client_id', clientId);
  }

  /** Revokes one token by `jti`. */
  revokeToken(jti: string): Promise<RevokedSet> {
    return this.#revokeWhere('jti', jti);
  }

  /** Every revoked token that has not expired yet, so a starting node can refuse them too. */
  async revokedUnexpired(now: number = this.#now()): Promise<RevokedSet> {
    const rows = await this.#db.kysely
      .selectFrom('idp_tokens')
      .select(['jti', 'expires_at'])
      .where('revoked_at', 'is not', null)
      .where('expires_at', '>', now)
      .execute();
    return { jtis: rows.map((r) => r.jti), until: Math.max(0, ...rows.map((r) => r.expires_at)) };
  }

  /** True when the token was revoked here. Unknown tokens are not revoked (they may be from another issuer). */
  async isRevoked(jti: string): Promise<boolean> {
    const row = await this.#db.kysely.selectFrom('idp_tokens').select('revoked_at').where('jti', '=', jti).executeTakeFirst();
    return row?.revoked_at != null;
  }

  async find(jti: string): Promise<(IssuedToken & { revokedAt: number | null }) | undefined> {
    const r = await this.#db.kysely.selectFrom('idp_tokens').selectAll().where('jti', '=', jti).executeTakeFirst();
    if (!r) return undefined;
    return {
      jti: r.jti,
      grantId: r.grant_id,
      sid: r.sid,
      account: r.account,
      clientId: r.client_id,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    };
  }

  /** Forgets tokens that expired before `now`; a JWT past `exp` is refused anyway. */
  async prune(now: number = this.#now()): Promise<number> {
    const r = await this.#db.kysely.deleteFrom('idp_tokens').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }

  async #revokeWhere(column: 'grant_id' | 'sid' | 'jti' | 'client_id', value: string): Promise<RevokedSet> {
    const now = this.#now();
    const rows = await this.#db.kysely
      .selectFrom('idp_tokens')
      .select(['jti', 'expires_at'])
      .where(column, '=', value)
      .where('expires_at', '>', now)
      .execute();
    if (rows.length) {
      await this.#db.kysely
        .updateTable('idp_tokens')
        .set({ revoked_at: now })
        .where(column, '=', value)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return { jtis: rows.map((r) => r.jti), until: Math.max(0, ...rows.map((r) => r.expires_at)) };
  }
}
