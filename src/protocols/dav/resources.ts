import type { CalendarService } from '../../calendar/service.ts';
import { type Calendar, INBOX, type StoredObject } from '../../calendar/store.ts';
import type { Addressbook, ContactsStore, StoredCard } from '../../contacts/store.ts';
import type { Invite, Share } from '../../calendar/shares.ts';
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
  /** The principal collection (RFC 3744 §5.8): searched by REPORT, never listed. */
  | { readonly kind: 'principals' }
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
  /** An address book, the user's own (`invites` lists its sharees) or one shared with the user. */
  | { readonly kind: 'addressbook'; readonly account: DirectoryAccount; readonly book: Addressbook; readonly invites?: readonly Share[] }
  /** The calendarserver notification collection in the calendar home: the share invites sent to the user. */
  | { readonly kind: 'notifications'; readonly account: DirectoryAccount; readonly invites: readonly Invite[] }
  /** One invite notification (CS:invite-notification), named `<uid>.xml`. */
  | { readonly kind: 'notification'; readonly account: DirectoryAccount; readonly name: string; readonly invite: Invite | undefined }
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

/** The path segment of the notification collection in a calendar home (calendarserver sharing). */
export const NOTIFICATIONS = 'notification';

/** The uid of the invite to a collection (CS:uid, CS:in-reply-to) and back. */
export const inviteUid = (i: Pick<Invite, 'type' | 'collectionId'>) => `${i.type}-${i.collectionId}`;
export function parseInviteUid(uid: string): { type: 'calendar' | 'addressbook'; id: number } | undefined {
  const m = /^(calendar|addressbook)-(\d{1,15})$/.exec(uid.trim());
  return m ? { type: m[1] as 'calendar' | 'addressbook', id: Number(m[2]) } : undefined;
}

/** The invites sent to an account, calendars first, at most 500 of each. */
export async function invitesOf(account: DirectoryAccount, calendar: CalendarService, contacts?: ContactsStore): Promise<Invite[]> {
  return [...(await calendar.store.shares.invites(account.id)), ...((await contacts?.shares.invites(account.id)) ?? [])];
}

/** The invite to one collection (`type-id`), whatever its answer. */
async function inviteByUid(uid: string, account: DirectoryAccount, calendar: CalendarService, contacts?: ContactsStore) {
  const u = parseInviteUid(uid);
  if (!u) return undefined;
  const shares = u.type === 'calendar' ? calendar.store.shares : contacts?.shares;
  return (await shares?.invites(account.id, u.id))?.[0];
}

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
  if (path.area === 'principal-collection') return { kind: 'principals' };
  if (path.address.toLowerCase() !== user.address) return undefined;
  const account = user;
  if (path.area === 'principals') return { kind: 'principal', account };
  if (path.area === 'addressbooks') {
    if (!contacts) return { kind: 'other', account, path };
    if (path.collection === undefined) {
      await contacts.ensureDefault(account.id);
      return { kind: 'addressbook-home', account };
    }
    const book = (await contacts.getBook(account.id, path.collection)) ?? (await sharedBook(contacts, account, path.collection));
    if (!book)
      return path.member === undefined ? { kind: 'missing-collection', account, area: 'addressbooks', name: path.collection } : undefined;
    if (path.member === undefined)
      return { kind: 'addressbook', account, book, ...(book.shared ? {} : { invites: await contacts.shares.list(book.id) }) };
    return { kind: 'address-object', account, book, name: path.member, card: await contacts.getCard(book.id, path.member) };
  }
  if (path.collection === undefined) {
    // The first visit of a calendar client finds one calendar to put events in.
    if ((await calendar.store.listCalendars(account.id)).length === 0)
      await calendar.store.ensureCalendar(account.id, FIRST_CALENDAR, calendar.settings.defaultTimezone);
    return { kind: 'calendar-home', account };
  }
  if (path.collection === NOTIFICATIONS) {
    if (path.member === undefined) return { kind: 'notifications', account, invites: await invitesOf(account, calendar, contacts) };
    const name = path.member;
    const invite = name.endsWith('.xml') ? await inviteByUid(name.slice(0, -4), account, calendar, contacts) : undefined;
    return { kind: 'notification', account, name, invite };
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

/** An address book shared with `account` under `shared-<id>` in its home, or undefined. */
async function sharedBook(contacts: ContactsStore, account: DirectoryAccount, name: string): Promise<Addressbook | undefined> {
  const m = /^shared-(\d{1,15})$/.exec(name);
  return m ? (await contacts.shares.sharedWith(account.id, Number(m[1])))[0] : undefined;
}

/** A calendar shared with `account` under `shared-<id>` in its home, or undefined. */
async function sharedCalendar(calendar: CalendarService, account: DirectoryAccount, name: string): Promise<Calendar | undefined> {
  const m = /^shared-(\d{1,15})$/.exec(name);
  return m ? (await calendar.store.shares.sharedWith(account.id, Number(m[1])))[0] : undefined;
}
