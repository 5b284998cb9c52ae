import type { Asker } from '../calendar/sharing.ts';
import type { Db } from '../store/db.ts';

/** One free/busy request for an account, as the account page lists it. */
export interface FreebusyAsk {
  readonly asker: string;
  /** `local` (signed in here), `remote` (another server's signed assertion) or `anonymous`. */
  readonly kind: string;
  readonly issuer: string | null;
  readonly allowed: boolean;
  readonly at: number;
}

const KEEP_MS = 90 * 86_400_000;
const SHOWN = 100;

/**
 * The log of who asked for an account's free/busy (RFC 6638 §3.2.1 style VFREEBUSY reads) and
 * whether its sharing rule allowed it, kept 90 days (migration 091). Written by the calendar
 * service's decision, read by the account page's sharing section.
 */
export class FreebusyAsks {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** Records one decision (the owner's own reads are not asks) and forgets entries older than 90 days. */
  async record(accountId: number, asker: Asker, allowed: boolean): Promise<void> {
    const now = this.#now();
    await this.#db.kysely
      .insertInto('freebusy_asks')
      .values({
        account_id: accountId,
        asker: asker.kind === 'anonymous' ? '' : asker.address.toLowerCase().slice(0, 320),
        kind: asker.kind,
        issuer: asker.kind === 'remote' ? asker.issuer.slice(0, 500) : null,
        allowed: allowed ? 1 : 0,
        asked_at: now,
      })
      .execute();
    await this.#db.kysely
      .deleteFrom('freebusy_asks')
      .where('account_id', '=', accountId)
      .where('asked_at', '<', now - KEEP_MS)
      .execute();
  }

  /** The latest asks for an account, newest first. */
  async list(accountId: number): Promise<FreebusyAsk[]> {
    const rows = await this.#db.kysely
      .selectFrom('freebusy_asks')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('asked_at', 'desc')
      .orderBy('id', 'desc')
      .limit(SHOWN)
      .execute();
    return rows.map((r) => ({ asker: r.asker, kind: r.kind, issuer: r.issuer, allowed: r.allowed === 1, at: Number(r.asked_at) }));
  }
}
