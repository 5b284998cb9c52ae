import { FingerpostError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';
import { type Calendar, toCalendar } from './store.ts';

/**
 * Calendars shared between accounts of one domain, read or read-write, as CalDAV clients know it
 * from the calendarserver sharing extension (CS:share, CS:invite): the sharee finds the calendar
 * in its own calendar home under `shared-<id>` with privileges that match its access.
 */

export type ShareAccess = 'read' | 'read-write';

/** One sharee of a calendar. */
export interface Share {
  readonly address: string;
  readonly displayName: string;
  readonly access: ShareAccess;
}

/** The segment under which a sharee's calendar home shows a calendar shared with it. */
export const sharedName = (calendarId: number) => `shared-${calendarId}`;

const accessOf = (v: string): ShareAccess => (v === 'read-write' ? 'read-write' : 'read');

/** At most this many sharees per calendar. */
export const MAX_SHAREES = 200;

export class CalendarShares {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** The sharees of a calendar, by address. */
  async list(calendarId: number): Promise<Share[]> {
    const rows = await this.#db.kysely
      .selectFrom('calendar_shares as s')
      .innerJoin('accounts as a', 'a.id', 's.sharee_id')
      .select(['a.address', 'a.display_name', 's.access'])
      .where('s.calendar_id', '=', calendarId)
      .orderBy('a.address')
      .execute();
    return rows.map((r) => ({ address: r.address, displayName: r.display_name, access: accessOf(r.access) }));
  }

  /**
   * Shares `calendar` with the account at `address` (or changes its access). Only accounts of the
   * owner's own domain, never the owner itself; `not_found` for an unknown address.
   */
  async share(calendar: Calendar, address: string, access: ShareAccess): Promise<void> {
    const owner = await this.#db.kysely
      .selectFrom('accounts')
      .select(['domain_id', 'id'])
      .where('id', '=', calendar.accountId)
      .executeTakeFirstOrThrow();
    const sharee = await this.#db.kysely
      .selectFrom('accounts')
      .select(['id', 'domain_id', 'disabled'])
      .where('address', '=', address.toLowerCase())
      .executeTakeFirst();
    if (!sharee || sharee.disabled) throw new FingerpostError('not_found', `no account ${address.slice(0, 200)}`);
    if (sharee.domain_id !== owner.domain_id || sharee.id === owner.id)
      throw new FingerpostError('forbidden', 'calendars are shared only with other accounts of the same domain');
    const existing = await this.#db.kysely
      .selectFrom('calendar_shares')
      .select('access')
      .where('calendar_id', '=', calendar.id)
      .where('sharee_id', '=', sharee.id)
      .executeTakeFirst();
    if (existing) {
      await this.#db.kysely
        .updateTable('calendar_shares')
        .set({ access })
        .where('calendar_id', '=', calendar.id)
        .where('sharee_id', '=', sharee.id)
        .execute();
      return;
    }
    const count = await this.#db.kysely
      .selectFrom('calendar_shares')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('calendar_id', '=', calendar.id)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_SHAREES)
      throw new FingerpostError('limit_exceeded', `a calendar is shared with at most ${MAX_SHAREES} accounts`);
    await this.#db.kysely
      .insertInto('calendar_shares')
      .values({ calendar_id: calendar.id, sharee_id: sharee.id, access, created_at: this.#now() })
      .execute();
  }

  /** Ends a share (by the owner naming the sharee, or the sharee removing it from its home). */
  async unshare(calendarId: number, shareeAddressOrId: string | number): Promise<boolean> {
    let id = typeof shareeAddressOrId === 'number' ? shareeAddressOrId : undefined;
    if (id === undefined) {
      const row = await this.#db.kysely
        .selectFrom('accounts')
        .select('id')
        .where('address', '=', String(shareeAddressOrId).toLowerCase())
        .executeTakeFirst();
      if (!row) return false;
      id = row.id;
    }
    const r = await this.#db.kysely
      .deleteFrom('calendar_shares')
      .where('calendar_id', '=', calendarId)
      .where('sharee_id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /**
   * The calendars shared with an account, each as the sharee sees it: named `shared-<id>`, with
   * its owner and the access granted (`calendarId` narrows to one).
   */
  async sharedWith(shareeId: number, calendarId?: number): Promise<Calendar[]> {
    let q = this.#db.kysely
      .selectFrom('calendar_shares as s')
      .innerJoin('calendars as c', 'c.id', 's.calendar_id')
      .innerJoin('accounts as a', 'a.id', 'c.account_id')
      .selectAll('c')
      .select(['a.address as owner_address', 's.access as share_access'])
      .where('s.sharee_id', '=', shareeId)
      .where('c.kind', '=', 'calendar');
    if (calendarId !== undefined) q = q.where('c.id', '=', calendarId);
    const rows = await q.orderBy('c.id').execute();
    return rows.map((r) => ({
      ...toCalendar(r),
      name: sharedName(r.id),
      shared: { owner: r.owner_address, ownerName: r.name, access: accessOf(r.share_access) },
    }));
  }
}

/** Whether the signed-in user may only read `calendar` (a feed mirror, or shared read-only). */
export function readOnlyCalendar(calendar: Calendar): boolean {
  return calendar.subscription !== undefined || calendar.shared?.access === 'read';
}
