import type { Db } from '../../store/db.ts';

export interface SendingLimitOptions {
  /** Messages one account may submit per window (0: unlimited). */
  readonly maxMessages: number;
  /** Recipients summed over those messages (0: unlimited). */
  readonly maxRecipients: number;
  readonly windowMs: number;
}

/** Which per-account limit a submission would exceed. */
export type LimitReached = 'messages' | 'recipients';

/**
 * Per-account sending limits on submission (RFC 6409 §8: the operator's limits on what an
 * authenticated client sends), counted in the store so every node sees the same totals.
 */
export class SendingLimits {
  readonly #db: Db;
  readonly #o: SendingLimitOptions;

  constructor(db: Db, options: SendingLimitOptions) {
    this.#db = db;
    this.#o = options;
  }

  async #usage(accountId: number, now: number): Promise<{ messages: number; recipients: number }> {
    const row = await this.#db.kysely
      .selectFrom('submission_log')
      .select((eb) => [eb.fn.countAll<number>().as('messages'), eb.fn.sum<number>('recipients').as('recipients')])
      .where('account_id', '=', accountId)
      .where('created_at', '>', now - this.#o.windowMs)
      .executeTakeFirst();
    return { messages: Number(row?.messages ?? 0), recipients: Number(row?.recipients ?? 0) };
  }

  /** The limit the account is over (or would be with `recipients` more), else undefined. */
  async check(accountId: number, recipients: number, now = Date.now()): Promise<LimitReached | undefined> {
    if (!this.#o.maxMessages && !this.#o.maxRecipients) return undefined;
    const used = await this.#usage(accountId, now);
    if (this.#o.maxMessages && used.messages >= this.#o.maxMessages) return 'messages';
    if (this.#o.maxRecipients && used.recipients + recipients > this.#o.maxRecipients) return 'recipients';
    return undefined;
  }

  /** Counts a submitted message; old entries are pruned on the way. */
  async record(accountId: number, recipients: number, now = Date.now()): Promise<void> {
    await this.#db.kysely.insertInto('submission_log').values({ account_id: accountId, recipients, created_at: now }).execute();
    if (Math.random() < 0.01)
      await this.#db.kysely
        .deleteFrom('submission_log')
        .where('created_at', '<', now - this.#o.windowMs)
        .execute();
  }
}
