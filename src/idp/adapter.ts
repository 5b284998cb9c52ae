import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../store/db.ts';

/** Expired entries are kept this long, so a late request gets the precise error (RFC 8628 `expired_token`). */
export const PRUNE_GRACE_MS = 3_600_000;

/**
 * oidc-provider's storage adapter on the SQL store (table `idp_entries`), one instance per model
 * (Session, Grant, AuthorizationCode, RefreshToken, DeviceCode, Client, Interaction…). Entries
 * carry their expiry; oidc-provider checks `exp` of what `find` returns itself, and
 * `SqlAdapter.prune` deletes entries an hour after they expired.
 */
export class SqlAdapter implements Adapter {
  readonly #db: Db;
  readonly #model: string;
  readonly #now: () => number;

  constructor(db: Db, model: string, now: () => number = Date.now) {
    this.#db = db;
    this.#model = model;
    this.#now = now;
  }

  /** Stores or replaces an entry; `expiresIn` is in seconds (absent: kept until destroyed, e.g. clients). */
  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const row = {
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expires_at: expiresIn ? this.#now() + expiresIn * 1000 : null,
    };
    await this.#db.kysely
      .insertInto('idp_entries')
      .values({ model: this.#model, id, consumed_at: null, ...row })
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
      .execute();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('id', id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('user_code', userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('uid', uid);
  }

  /** Marks a one-time artefact (authorization code, rotated refresh token) as used; a replay then fails. */
  async consume(id: string): Promise<void> {
    await this.#db.kysely
      .updateTable('idp_entries')
      .set({ consumed_at: this.#now() })
      .where('model', '=', this.#model)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.#db.kysely.deleteFrom('idp_entries').where('model', '=', this.#model).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.kysely.deleteFrom('idp_entries').where('model', '=', this.#model).where('grant_id', '=', grantId).execute();
  }

  async #findBy(column: 'id' | 'user_code' | 'uid', value: string): Promise<AdapterPayload | undefined> {
    const row = await this.#db.kysely
      .selectFrom('idp_entries')
      .select(['payload', 'expires_at', 'consumed_at'])
      .where('model', '=', this.#model)
      .where(column, '=', value)
      .executeTakeFirst();
    if (!row || (row.expires_at !== null && row.expires_at + PRUNE_GRACE_MS <= this.#now())) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    // oidc-provider reads `consumed` (epoch seconds) to detect replays of codes and refresh tokens.
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  }

  /** Deletes every expired entry of every model; returns how many went. */
  static async prune(db: Db, now: number = Date.now()): Promise<number> {
    const result = await db.kysely
      .deleteFrom('idp_entries')
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numDeletedRows ?? 0);
  }
}
