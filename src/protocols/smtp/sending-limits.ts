import type { Db } from '../../store/db.ts';
import { type Reply, reply } from './reply.ts';

export interface SendingLimitOptions {
  /** Messages one account may submit per window (0: unlimited). */
  readonly maxMessages: number;
  /** Recipients summed over those messages (0: unlimited). */
  readonly maxRecipients: number;
  readonly windowMs: number;
}

/**
 * Per-account sending limits on submission, counted in the store so every node sees the same
 * totals. Over the limit, MAIL gets `450 4.7.1` (try later, RFC 3463 X.7.1 delivery not authorized).
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

  /** A refusal when the account is over a limit (or would be with `recipients` more), else undefined. */
  async check(accountId: number, recipients: number, now = Date.now()): Promise<Reply | undefined> {
    if (!this.#o.maxMessages && !this.#o.maxRecipients) return undefined;
    const used = await this.#usage(accountId, now);
    if (this.#o.maxMessages && used.messages >= this.#o.maxMessages) {
      return reply(450, '4.7.1', 'Sending limit reached (messages per hour), try again later');
    }
    if (this.#o.maxRecipients && used.recipients + recipients > this.#o.maxRecipients) {
      return reply(450, '4.7.1', 'Sending limit reached (recipients per hour), try again later');
    }
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
