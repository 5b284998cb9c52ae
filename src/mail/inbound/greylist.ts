import { type Clock, systemClock } from '../../core/clock.ts';
import type { Db } from '../../store/db.ts';

export interface GreylistOptions {
  /** How long a new triplet is refused before a retry passes (RFC 6647 §4.2: minutes). */
  readonly delayMs: number;
  /** How long a refused triplet waits for its retry before it is forgotten. */
  readonly retryWindowMs: number;
  /** How long a passed triplet goes on passing after its last message. */
  readonly passTtlMs: number;
  readonly clock?: Clock;
}

/** A triplet's verdict: pass now, or come back in `retryInSeconds`. */
export type GreylistVerdict =
  | { readonly kind: 'passed'; readonly first: boolean }
  | { readonly kind: 'delayed'; readonly retryInSeconds: number };

/**
 * Greylisting (RFC 6647): the first delivery attempt of an unknown (client network, sender,
 * recipient) triplet is refused temporarily; a retry after `delayMs` (and within the retry window)
 * passes, and the triplet then passes at once until it goes unused for `passTtlMs`. Kept in the
 * database so every node of a cluster agrees on what it has seen.
 */
export class Greylist {
  readonly #db: Db;
  readonly #o: GreylistOptions;
  readonly #clock: Clock;
  #prunedAt = 0;

  constructor(db: Db, options: GreylistOptions) {
    this.#db = db;
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** `client` is the client's network (src/protocols/smtp/baseline.ts clientNetwork, RFC 6647 §4.2.1). */
  async check(client: string, sender: string, recipient: string): Promise<GreylistVerdict> {
    const now = this.#clock.now();
    const db = this.#db.kysely;
    const key = { client, sender: sender.toLowerCase(), recipient: recipient.toLowerCase() };
    await this.#prune(now);
    const update = (set: { first_seen?: number; last_seen: number; passed_at?: number | null; attempts?: number }) =>
      db
        .updateTable('greylist')
        .set(set)
        .where('client', '=', key.client)
        .where('sender', '=', key.sender)
        .where('recipient', '=', key.recipient)
        .execute();
    const row = await db
      .selectFrom('greylist')
      .selectAll()
      .where('client', '=', key.client)
      .where('sender', '=', key.sender)
      .where('recipient', '=', key.recipient)
      .executeTakeFirst();
    const stale =
      row &&
      (row.passed_at === null ? now - Number(row.first_seen) > this.#o.retryWindowMs : now - Number(row.last_seen) > this.#o.passTtlMs);
    if (!row || stale) {
      const fresh = { first_seen: now, last_seen: now, passed_at: null, attempts: 1 };
      // Two nodes may see the first attempt at once: the insert is idempotent, the row decides.
      if (stale) await update(fresh);
      else
        await db
          .insertInto('greylist')
          .values({ ...key, ...fresh })
          .onConflict((oc) => oc.columns(['client', 'sender', 'recipient']).doNothing())
          .execute();
      return { kind: 'delayed', retryInSeconds: Math.ceil(this.#o.delayMs / 1000) };
    }
    if (row.passed_at !== null) {
      await update({ last_seen: now });
      return { kind: 'passed', first: false };
    }
    const waited = now - Number(row.first_seen);
    if (waited >= this.#o.delayMs) {
      await update({ last_seen: now, passed_at: now, attempts: row.attempts + 1 });
      return { kind: 'passed', first: true };
    }
    await update({ last_seen: now, attempts: row.attempts + 1 });
    return { kind: 'delayed', retryInSeconds: Math.ceil((this.#o.delayMs - waited) / 1000) };
  }

  /** Forgets triplets that were never retried in time or have gone unused (at most hourly). */
  async #prune(now: number): Promise<void> {
    if (now - this.#prunedAt < 3_600_000) return;
    this.#prunedAt = now;
    await this.#db.kysely
      .deleteFrom('greylist')
      .where((eb) =>
        eb.or([
          eb.and([eb('passed_at', 'is', null), eb('first_seen', '<', now - this.#o.retryWindowMs)]),
          eb('last_seen', '<', now - this.#o.passTtlMs),
        ]),
      )
      .execute();
  }
}
