import type { Db } from '../store/db.ts';

/**
 * The exclusive-access lock on a maildrop (RFC 1939 §8: one POP3 session per maildrop), kept in
 * the store with a lease so it holds across nodes and frees itself if a node dies.
 */
export class MaildropLocks {
  readonly #db: Db;
  readonly #leaseMs: number;

  constructor(db: Db, leaseMs = 120_000) {
    this.#db = db;
    this.#leaseMs = leaseMs;
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** Takes the lock for `holder`; false when another live session holds it. */
  async acquire(accountId: number, holder: string, now = Date.now()): Promise<boolean> {
    await this.#db.kysely.deleteFrom('pop3_locks').where('account_id', '=', accountId).where('expires_at', '<', now).execute();
    try {
      await this.#db.kysely
        .insertInto('pop3_locks')
        .values({ account_id: accountId, holder, expires_at: now + this.#leaseMs })
        .execute();
      return true;
    } catch {
      return false;
    }
  }

  /** Extends the lease while the session lives. */
  async refresh(accountId: number, holder: string, now = Date.now()): Promise<void> {
    await this.#db.kysely
      .updateTable('pop3_locks')
      .set({ expires_at: now + this.#leaseMs })
      .where('account_id', '=', accountId)
      .where('holder', '=', holder)
      .execute();
  }

  async release(accountId: number, holder: string): Promise<void> {
    await this.#db.kysely.deleteFrom('pop3_locks').where('account_id', '=', accountId).where('holder', '=', holder).execute();
  }
}
