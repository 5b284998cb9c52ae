import { createHash } from 'node:crypto';
import { DEFAULT_CALENDAR } from '../../calendar/service.ts';
import { type Invite, readOnlyCalendar, type Share } from '../../calendar/shares.ts';
import type { Calendar, StoredObject } from '../../calendar/store.ts';
import type { Addressbook, StoredCard } from '../../contacts/store.ts';
import { el, esc, href } from './multistatus.ts';
import { clark, NS } from './names.ts';
import {
  addressbookHomePath,
  addressbookPath,
  calendarHomePath,
  calendarPath,
  DAV_ROOT,
  inboxPath,
  notificationsPath,
  outboxPath,
  principalPath,
} from './paths.ts';
import { inviteUid } from './resources.ts';
import { inviteStatus, notificationType } from './sharing.ts';
import type { DavResource } from './resources.ts';

/**
 * The live properties of each kind of DAV resource (RFC 4918 §15, RFC 3744 §5.4, RFC 5397,
 * RFC 4791 §5.2 and §6.2, RFC 6578 §4, the calendarserver getctag), rendered as XML fragments.
 */

/** Per-request facts properties need. */
export interface PropContext {
  /** The signed-in account's address (current-user-principal). */
  readonly user: string;
  /** Largest calendar object accepted (C:max-resource-size). */
  readonly maxResourceSize: number;
  /** Most attendees per event (C:max-attendees-per-instance). */
  readonly maxAttendees?: number;
  /** Whether CardDAV is served (addressbook-home-set). */
  readonly contacts: boolean;
  /** The sync token of a collection at a modseq. */
  syncToken(kind: 'calendar' | 'addressbook', id: number, modseq: number): string;
}

/** A property's rendered value, or undefined when the resource does not have it. */
export type PropValue = string | undefined;

type Producer = () => PropValue;

const PRIV = (ns: string, name: string) => el(NS.dav, 'privilege', el(ns, name));
const READ_ONLY = [PRIV(NS.dav, 'read'), PRIV(NS.dav, 'read-current-user-privilege-set'), PRIV(NS.caldav, 'read-free-busy')].join('');
const READ_WRITE = [
  PRIV(NS.dav, 'read'),
  PRIV(NS.dav, 'write'),
  PRIV(NS.dav, 'write-properties'),
  PRIV(NS.dav, 'write-content'),
  PRIV(NS.dav, 'bind'),
  PRIV(NS.dav, 'unbind'),
  PRIV(NS.dav, 'read-current-user-privilege-set'),
  PRIV(NS.caldav, 'read-free-busy'),
].join('');

const reports = (...names: Array<[string, string]>) =>
  names.map(([ns, n]) => el(NS.dav, 'supported-report', el(NS.dav, 'report', el(ns, n)))).join('');

const CALENDAR_REPORTS = reports(
  [NS.caldav, 'calendar-query'],
  [NS.caldav, 'calendar-multiget'],
  [NS.caldav, 'free-busy-query'],
  [NS.dav, 'sync-collection'],
);

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** The properties of the principal of `address` (RFC 3744 §4, RFC 4791 §6.2, RFC 6638 §2.4), also for principals a search finds. */
export function principalProps(address: string, displayName: string, ctx: PropContext): Record<string, Producer> {
  return {
    [clark(NS.dav, 'current-user-principal')]: () => href(principalPath(ctx.user)),
    [clark(NS.cs, 'email-address-set')]: () => el(NS.cs, 'email-address', esc(address)),
    // calendarserver sharing: where the user's invites arrive.
    [clark(NS.cs, 'notification-URL')]: () => (address === ctx.user ? href(notificationsPath(address)) : undefined),
    [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.dav, 'principal'),
    [clark(NS.dav, 'displayname')]: () => esc(displayName || address),
    [clark(NS.dav, 'principal-URL')]: () => href(principalPath(address)),
    [clark(NS.caldav, 'calendar-home-set')]: () => href(calendarHomePath(address)),
    [clark(NS.caldav, 'calendar-user-address-set')]: () => href(`mailto:${address}`) + href(principalPath(address)),
    [clark(NS.caldav, 'calendar-user-type')]: () => 'INDIVIDUAL',
    [clark(NS.caldav, 'schedule-inbox-URL')]: () => href(inboxPath(address)),
    [clark(NS.caldav, 'schedule-outbox-URL')]: () => href(outboxPath(address)),
    [clark(NS.carddav, 'addressbook-home-set')]: () => (ctx.contacts ? href(addressbookHomePath(address)) : undefined),
    [clark(NS.dav, 'principal-collection-set')]: () => href(`${DAV_ROOT}principals/`),
    [clark(NS.dav, 'supported-report-set')]: () => PRINCIPAL_REPORTS,
  };
}

/** The scheduling privileges (RFC 6638 §6.1): the inbox takes deliveries, the outbox sends and asks free/busy. */
const INBOX_PRIVILEGES = READ_WRITE + PRIV(NS.caldav, 'schedule-deliver');
const OUTBOX_PRIVILEGES = [PRIV(NS.dav, 'read'), PRIV(NS.dav, 'read-current-user-privilege-set'), PRIV(NS.caldav, 'schedule-send')].join(
  '',
);

function inboxProps(c: Calendar, ctx: PropContext, address: string): Record<string, Producer> {
  return {
    ...calendarProps(c, ctx),
    [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.caldav, 'schedule-inbox'),
    [clark(NS.caldav, 'schedule-default-calendar-URL')]: () => href(calendarPath(address, DEFAULT_CALENDAR)),
    [clark(NS.caldav, 'schedule-calendar-transp')]: () => undefined,
    [clark(NS.dav, 'current-user-privilege-set')]: () => INBOX_PRIVILEGES,
  };
}

function outboxProps(): Record<string, Producer> {
  return {
    [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.caldav, 'schedule-outbox'),
    [clark(NS.dav, 'displayname')]: () => 'Outbox',
    [clark(NS.dav, 'current-user-privilege-set')]: () => OUTBOX_PRIVILEGES,
    [clark(NS.dav, 'supported-report-set')]: () => '',
  };
}

/** CS:invite (calendarserver sharing): each sharee, its answer so far, and its access. */
function inviteValue(invites: readonly Share[]): string {
  return invites
    .map((i) =>
      el(
        NS.cs,
        'user',
        href(`mailto:${i.address}`) +
          (i.displayName ? el(NS.cs, 'common-name', esc(i.displayName)) : '') +
          inviteStatus(i.status) +
          el(NS.cs, 'access', el(NS.cs, i.access)),
      ),
    )
    .join('');
}

function calendarProps(c: Calendar, ctx: PropContext, invites?: readonly Share[]): Record<string, Producer> {
  const token = ctx.syncToken('calendar', c.id, c.modseq);
  const sharing = c.shared ? el(NS.cs, 'shared') : invites?.length ? el(NS.cs, 'shared-owner') : '';
  return {
    [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.caldav, 'calendar') + sharing,
    [clark(NS.cs, 'invite')]: () =>
      c.shared
        ? el(NS.cs, 'organizer', href(`mailto:${c.shared.owner}`)) +
          el(NS.cs, 'user', href(`mailto:${ctx.user}`) + el(NS.cs, 'invite-accepted') + el(NS.cs, 'access', el(NS.cs, c.shared.access)))
        : invites
          ? inviteValue(invites)
          : undefined,
    [clark(NS.cs, 'allowed-sharing-modes')]: () => (c.shared || c.subscription ? '' : el(NS.cs, 'can-be-shared')),
    [clark(NS.cs, 'shared-url')]: () => (c.shared ? href(calendarPath(c.shared.owner, c.shared.ownerName)) : undefined),
    [clark(NS.dav, 'displayname')]: () => esc(c.displayName),
    [clark(NS.caldav, 'calendar-description')]: () => (c.description === null ? undefined : esc(c.description)),
    [clark(NS.apple, 'calendar-color')]: () => (c.color === null ? undefined : esc(c.color)),
    [clark(NS.caldav, 'supported-calendar-component-set')]: () => c.components.map((n) => `<C:comp name="${esc(n)}"/>`).join(''),
    [clark(NS.caldav, 'supported-calendar-data')]: () => '<C:calendar-data content-type="text/calendar" version="2.0"/>',
    [clark(NS.caldav, 'max-resource-size')]: () => String(ctx.maxResourceSize),
    [clark(NS.caldav, 'max-attendees-per-instance')]: () => (ctx.maxAttendees === undefined ? undefined : String(ctx.maxAttendees)),
    [clark(NS.caldav, 'calendar-timezone-id')]: () => esc(c.timezone),
    // RFC 6638 §9.1: whether the calendar's events count for free/busy.
    [clark(NS.caldav, 'schedule-calendar-transp')]: () => el(NS.caldav, c.includeInFreeBusy ? 'opaque' : 'transparent'),
    [clark(NS.cs, 'getctag')]: () => esc(token),
    [clark(NS.dav, 'sync-token')]: () => esc(token),
    [clark(NS.dav, 'supported-report-set')]: () => CALENDAR_REPORTS,
    [clark(NS.dav, 'current-user-privilege-set')]: () => (readOnlyCalendar(c) ? READ_ONLY : READ_WRITE),
    [clark(NS.dav, 'getlastmodified')]: () => httpDate(c.updatedAt),
  };
}

const BOOK_PRIVILEGES = [
  PRIV(NS.dav, 'read'),
  PRIV(NS.dav, 'write'),
  PRIV(NS.dav, 'write-properties'),
  PRIV(NS.dav, 'write-content'),
  PRIV(NS.dav, 'bind'),
  PRIV(NS.dav, 'unbind'),
  PRIV(NS.dav, 'read-current-user-privilege-set'),
].join('');

const BOOK_REPORTS = reports([NS.carddav, 'addressbook-query'], [NS.carddav, 'addressbook-multiget'], [NS.dav, 'sync-collection']);

const BOOK_READ_ONLY = [PRIV(NS.dav, 'read'), PRIV(NS.dav, 'read-current-user-privilege-set')].join('');

function bookProps(b: Addressbook, ctx: PropContext, invites?: readonly Share[]): Record<string, Producer> {
  const token = ctx.syncToken('addressbook', b.id, b.modseq);
  const sharing = b.shared ? el(NS.cs, 'shared') : invites?.length ? el(NS.cs, 'shared-owner') : '';
  return {
    [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.carddav, 'addressbook') + sharing,
    [clark(NS.cs, 'invite')]: () =>
      b.shared
        ? el(NS.cs, 'organizer', href(`mailto:${b.shared.owner}`)) +
          el(NS.cs, 'user', href(`mailto:${ctx.user}`) + el(NS.cs, 'invite-accepted') + el(NS.cs, 'access', el(NS.cs, b.shared.access)))
        : invites
          ? inviteValue(invites)
          : undefined,
    [clark(NS.cs, 'allowed-sharing-modes')]: () => (b.shared ? '' : el(NS.cs, 'can-be-shared')),
    [clark(NS.cs, 'shared-url')]: () => (b.shared ? href(addressbookPath(b.shared.owner, b.shared.ownerName)) : undefined),
    ...(b.shared ? { [clark(NS.dav, 'owner')]: () => href(principalPath(b.shared!.owner)) } : {}),
    [clark(NS.dav, 'displayname')]: () => esc(b.displayName),
    [clark(NS.carddav, 'addressbook-description')]: () => (b.description === null ? undefined : esc(b.description)),
    [clark(NS.carddav, 'supported-address-data')]: () =>
      '<CR:address-data-type content-type="text/vcard" version="3.0"/><CR:address-data-type content-type="text/vcard" version="4.0"/>',
    [clark(NS.carddav, 'max-resource-size')]: () => String(ctx.maxResourceSize),
    [clark(NS.cs, 'getctag')]: () => esc(token),
    [clark(NS.dav, 'sync-token')]: () => esc(token),
    [clark(NS.dav, 'supported-report-set')]: () => BOOK_REPORTS,
    [clark(NS.dav, 'current-user-privilege-set')]: () => (b.shared?.access === 'read' ? BOOK_READ_ONLY : BOOK_PRIVILEGES),
    [clark(NS.dav, 'getlastmodified')]: () => httpDate(b.updatedAt),
  };
}

/** The media type of a stored vCard (RFC 6350 §10.1), with its version when the text says it. */
export function cardContentType(c: Pick<StoredCard, 'vcard'>): string {
  const v = /\nVERSION:(\d\.\d)\r?\n/i.exec(c.vcard)?.[1];
  return v ? `text/vcard; charset=utf-8; version=${v}` : 'text/vcard; charset=utf-8';
}

function cardProps(c: StoredCard, readOnly: boolean): Record<string, Producer> {
  return {
    [clark(NS.dav, 'resourcetype')]: () => '',
    [clark(NS.dav, 'getetag')]: () => esc(c.etag),
    [clark(NS.dav, 'getcontenttype')]: () => esc(cardContentType(c)),
    [clark(NS.dav, 'getcontentlength')]: () => String(Buffer.byteLength(c.vcard)),
    [clark(NS.dav, 'getlastmodified')]: () => httpDate(c.updatedAt),
    [clark(NS.dav, 'current-user-privilege-set')]: () => (readOnly ? BOOK_READ_ONLY : BOOK_PRIVILEGES),
  };
}

/** The media type of a calendar object resource (RFC 4791 §5.3.4 names the component). */
export function objectContentType(o: Pick<StoredObject, 'component'>): string {
  return `text/calendar; charset=utf-8; component=${o.component}`;
}

function objectProps(o: StoredObject, readOnly: boolean): Record<string, Producer> {
  return {
    [clark(NS.dav, 'resourcetype')]: () => '',
    [clark(NS.dav, 'getetag')]: () => esc(o.etag),
    [clark(NS.dav, 'getcontenttype')]: () => esc(objectContentType(o)),
    [clark(NS.dav, 'getcontentlength')]: () => String(Buffer.byteLength(o.ics)),
    [clark(NS.dav, 'getlastmodified')]: () => httpDate(o.updatedAt),
    [clark(NS.dav, 'current-user-privilege-set')]: () => (readOnly ? READ_ONLY : READ_WRITE),
    [clark(NS.caldav, 'schedule-tag')]: () => (o.scheduleTag === null ? undefined : esc(o.scheduleTag)),
  };
}

/** A shared calendar is owned by the account that shared it (RFC 3744 §5.1). */
function sharedOwner(c: Calendar): Record<string, Producer> {
  const owner = c.shared?.owner;
  return owner ? { [clark(NS.dav, 'owner')]: () => href(principalPath(owner)) } : {};
}

/**
 * The live properties of a resource by Clark name. calendar-data is not among them: it is only
 * returned when asked for by name (RFC 4791 §9.6), by the caller.
 */
export function liveProps(res: DavResource, ctx: PropContext): Record<string, Producer> {
  const common: Record<string, Producer> = {
    [clark(NS.dav, 'current-user-principal')]: () => href(principalPath(ctx.user)),
    [clark(NS.dav, 'owner')]: () => ('account' in res ? href(principalPath(res.account.address)) : undefined),
  };
  switch (res.kind) {
    case 'root':
      return {
        ...common,
        [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection'),
        [clark(NS.dav, 'displayname')]: () => 'Fingerpost',
        [clark(NS.dav, 'principal-collection-set')]: () => href(`${DAV_ROOT}principals/`),
      };
    case 'principal':
      return { ...common, ...principalProps(res.account.address, res.account.displayName, ctx) };
    case 'calendar-home':
      return {
        ...common,
        [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection'),
        [clark(NS.dav, 'displayname')]: () => 'Calendars',
        [clark(NS.dav, 'current-user-privilege-set')]: () => READ_WRITE,
        [clark(NS.dav, 'supported-report-set')]: () => '',
      };
    case 'calendar':
      return {
        ...common,
        ...(res.calendar.kind === 'inbox'
          ? inboxProps(res.calendar, ctx, res.account.address)
          : calendarProps(res.calendar, ctx, res.invites)),
        ...sharedOwner(res.calendar),
      };
    case 'schedule-outbox':
      return { ...common, ...outboxProps() };
    case 'calendar-object':
      return res.object ? { ...common, ...objectProps(res.object, readOnlyCalendar(res.calendar)), ...sharedOwner(res.calendar) } : common;
    case 'addressbook-home':
      return {
        ...common,
        [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection'),
        [clark(NS.dav, 'displayname')]: () => 'Address books',
        [clark(NS.dav, 'current-user-privilege-set')]: () => BOOK_PRIVILEGES,
        [clark(NS.dav, 'supported-report-set')]: () => '',
      };
    case 'addressbook':
      return { ...common, ...bookProps(res.book, ctx, res.invites) };
    case 'address-object':
      return res.card ? { ...common, ...cardProps(res.card, res.book.shared?.access === 'read') } : common;
    case 'notifications':
      return {
        ...common,
        [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection') + el(NS.cs, 'notification'),
        [clark(NS.dav, 'displayname')]: () => 'Notifications',
        [clark(NS.cs, 'getctag')]: () => esc(notificationsTag(res.invites)),
        [clark(NS.dav, 'sync-token')]: () => esc(notificationsTag(res.invites)),
        [clark(NS.dav, 'current-user-privilege-set')]: () => BOOK_PRIVILEGES,
      };
    case 'notification':
      return res.invite ? { ...common, ...notificationProps(res.invite) } : common;
    case 'principals':
      return {
        ...common,
        [clark(NS.dav, 'resourcetype')]: () => el(NS.dav, 'collection'),
        [clark(NS.dav, 'displayname')]: () => 'Principals',
        [clark(NS.dav, 'principal-collection-set')]: () => href(`${DAV_ROOT}principals/`),
        [clark(NS.dav, 'supported-report-set')]: () => PRINCIPAL_REPORTS,
      };
    default:
      return common;
  }
}

const PRINCIPAL_REPORTS = reports([NS.dav, 'principal-property-search'], [NS.dav, 'principal-search-property-set']);

/** The ETag of an invite notification: it changes with the access and the answer. */
export function notificationEtag(i: Invite): string {
  return `"${inviteUid(i)}-${i.access}-${i.status}-${i.createdAt}"`;
}

/** A CTag for the notification collection: changes whenever an invite comes, goes or changes. */
function notificationsTag(invites: readonly Invite[]): string {
  const h = createHash('sha256');
  for (const i of invites) h.update(`${notificationEtag(i)}\n`);
  return `n-${h.digest('hex').slice(0, 24)}`;
}

function notificationProps(i: Invite): Record<string, Producer> {
  return {
    [clark(NS.dav, 'resourcetype')]: () => '',
    [clark(NS.dav, 'getetag')]: () => esc(notificationEtag(i)),
    [clark(NS.dav, 'getcontenttype')]: () => 'application/xml; charset=utf-8',
    [clark(NS.cs, 'notificationtype')]: () => notificationType(i),
    [clark(NS.dav, 'getlastmodified')]: () => httpDate(i.createdAt),
  };
}

/** The properties `allprop` returns (RFC 4918 §9.1; RFC 4791 §9.6 keeps calendar-data out). */
export function allPropNames(res: DavResource, ctx: PropContext): string[] {
  const props = liveProps(res, ctx);
  const skip = new Set([clark(NS.dav, 'current-user-privilege-set'), clark(NS.dav, 'supported-report-set')]);
  return Object.keys(props).filter((k) => !skip.has(k) && props[k]!() !== undefined);
}

/** The path of a calendar collection resource for hrefs. */
export function calendarHref(address: string, c: Calendar): string {
  return calendarPath(address, c.name);
}
