import {
  CALENDAR_SHARES,
  CollectionShares,
  type Invite,
  MAX_SHAREES,
  type Share,
  type ShareAccess,
  type ShareStatus,
  sharedName,
} from '../store/shares.ts';
import type { Db } from '../store/db.ts';
import { type Calendar, toCalendar } from './store.ts';

/**
 * Calendars shared between accounts of one domain (the calendarserver sharing model, with the
 * invites of src/store/shares.ts): the sharee finds an accepted calendar in its own calendar home
 * under `shared-<id>` with privileges that match its access.
 */

export { CollectionShares, type Invite, MAX_SHAREES, type Share, type ShareAccess, type ShareStatus, sharedName };

export class CalendarShares extends CollectionShares {
  constructor(db: Db, now: () => number = Date.now) {
    super(db, CALENDAR_SHARES, now);
  }

  /**
   * The calendars shared with an account whose invite it accepted, each as the sharee sees it:
   * named `shared-<id>`, with its owner and the access granted (`calendarId` narrows to one).
   */
  async sharedWith(shareeId: number, calendarId?: number): Promise<Calendar[]> {
    let q = this.db.kysely
      .selectFrom('calendar_shares as s')
      .innerJoin('calendars as c', 'c.id', 's.calendar_id')
      .innerJoin('accounts as a', 'a.id', 'c.account_id')
      .selectAll('c')
      .select(['a.address as owner_address', 's.access as share_access'])
      .where('s.sharee_id', '=', shareeId)
      .where('s.status', '=', 'accepted')
      .where('c.kind', '=', 'calendar');
    if (calendarId !== undefined) q = q.where('c.id', '=', calendarId);
    const rows = await q.orderBy('c.id').execute();
    return rows.map((r) => ({
      ...toCalendar(r),
      name: sharedName(r.id),
      shared: { owner: r.owner_address, ownerName: r.name, access: r.share_access === 'read-write' ? 'read-write' : 'read' },
    }));
  }
}

/** Whether the signed-in user may only read `calendar` (a feed mirror, or shared read-only). */
export function readOnlyCalendar(calendar: Calendar): boolean {
  return calendar.subscription !== undefined || calendar.shared?.access === 'read';
}
