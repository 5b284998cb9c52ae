import type { CalendarService } from '../../calendar/service.ts';
import { type Calendar, INBOX, type StoredObject } from '../../calendar/store.ts';
import type { Addressbook, ContactsStore, StoredCard } from '../../contacts/store.ts';
import type { Share } from '../../calendar/shares.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import type { DavPath } from './paths.ts';

/**
 * What a DAV path names for the signed-in user: the root, their principal, their calendar home,
 * one of their calendars (their own, or one shared with them: src/calendar/shares.ts), or a
 * member of one (existing or not yet). Another account's paths are not found (RFC 4791 §6.2:
 * homes are per principal).
 */
export type DavResource =
  | { readonly kind: 'root' }
  | { readonly kind: 'principal'; readonly account: DirectoryAccount }
  | { readonly kind: 'calendar-home'; readonly account: DirectoryAccount }
  /**
   * A calendar, or the scheduling inbox (`calendar.kind` is `inbox`, RFC 6638 §2.2); `invites`
   * lists whom the owner shared it with (CS:invite).
   */
  | { readonly kind: 'calendar'; readonly account: DirectoryAccount; readonly calendar: Calendar; readonly invites?: readonly Share[] }
  /** The scheduling outbox (RFC 6638 §2.1): nothing stored, free/busy asked by POST. */
  | { readonly kind: 'schedule-outbox'; readonly account: DirectoryAccount }
  | {
      readonly kind: 'calendar-object';
      readonly account: DirectoryAccount;
      readonly calendar: Calendar;
      readonly name: string;
      readonly object: StoredObject | undefined;
    }
  | { readonly kind: 'addressbook-home'; readonly account: DirectoryAccount }
  | { readonly kind: 'addressbook'; readonly account: DirectoryAccount; readonly book: Addressbook }
  | {
      readonly kind: 'address-object';
      readonly account: DirectoryAccount;
      readonly book: Addressbook;
      readonly name: string;
      readonly card: StoredCard | undefined;
    }
  /** A path in a home that names no collection yet (MKCALENDAR / MKCOL target). */
  | {
      readonly kind: 'missing-collection';
      readonly account: DirectoryAccount;
      readonly area: 'calendars' | 'addressbooks';
      readonly name: string;
    }
  | { readonly kind: 'other'; readonly account: DirectoryAccount; readonly path: DavPath };

/** The path segment of the scheduling outbox in a calendar home (RFC 6638 §2.1). */
export const OUTBOX = 'outbox';

/** The name of the calendar made on first access to an empty calendar home. */
export const FIRST_CALENDAR = 'default';

/** Resolves a parsed path for `user`; undefined when it is not theirs or does not exist. */
export async function resolveCalendarPath(
  path: DavPath,
  user: DirectoryAccount,
  calendar: CalendarService,
  contacts?: ContactsStore,
): Promise<DavResource | undefined> {
  if (path.area === 'root') return { kind: 'root' };
  if (path.address.toLowerCase() !== user.address) return undefined;
  const account = user;
  if (path.area === 'principals') return { kind: 'principal', account };
  if (path.area === 'addressbooks') {
    if (!contacts) return { kind: 'other', account, path };
    if (path.collection === undefined) {
      await contacts.ensureDefault(account.id);
      return { kind: 'addressbook-home', account };
    }
    const book = await contacts.getBook(account.id, path.collection);
    if (!book)
      return path.member === undefined ? { kind: 'missing-collection', account, area: 'addressbooks', name: path.collection } : undefined;
    if (path.member === undefined) return { kind: 'addressbook', account, book };
    return { kind: 'address-object', account, book, name: path.member, card: await contacts.getCard(book.id, path.member) };
  }
  if (path.collection === undefined) {
    // The first visit of a calendar client finds one calendar to put events in.
    if ((await calendar.store.listCalendars(account.id)).length === 0)
      await calendar.store.ensureCalendar(account.id, FIRST_CALENDAR, calendar.settings.defaultTimezone);
    return { kind: 'calendar-home', account };
  }
  if (path.collection === OUTBOX) return path.member === undefined ? { kind: 'schedule-outbox', account } : undefined;
  const cal =
    path.collection === INBOX
      ? await calendar.store.ensureInbox(account.id, calendar.settings.defaultTimezone)
      : ((await calendar.store.getCalendar(account.id, path.collection)) ?? (await sharedCalendar(calendar, account, path.collection)));
  if (!cal)
    return path.member === undefined ? { kind: 'missing-collection', account, area: 'calendars', name: path.collection } : undefined;
  if (path.member === undefined)
    return {
      kind: 'calendar',
      account,
      calendar: cal,
      ...(cal.kind === 'calendar' && !cal.shared ? { invites: await calendar.store.shares.list(cal.id) } : {}),
    };
  return {
    kind: 'calendar-object',
    account,
    calendar: cal,
    name: path.member,
    object: await calendar.store.getObject(cal.id, path.member),
  };
}

/** A calendar shared with `account` under `shared-<id>` in its home, or undefined. */
async function sharedCalendar(calendar: CalendarService, account: DirectoryAccount, name: string): Promise<Calendar | undefined> {
  const m = /^shared-(\d{1,15})$/.exec(name);
  return m ? (await calendar.store.shares.sharedWith(account.id, Number(m[1])))[0] : undefined;
}
