import { Readable } from 'node:stream';
import { IcsError } from '../../calendar/ics.ts';
import { schedulingInfo } from '../../calendar/scheduling/itip.ts';
import { readOnlyCalendar } from '../../calendar/shares.ts';
import type { CalendarService } from '../../calendar/service.ts';
import { type Calendar, checkCalendarName, checkObjectName, PreconditionFailed, type StoredObject } from '../../calendar/store.ts';
import { expandedObject } from '../../calendar/expand-data.ts';
import { type CompSelection, limitFreebusySet, limitRecurrenceSet, selectComponent } from '../../calendar/limit-data.ts';
import { loadObject } from '../../calendar/objects.ts';
import { parseInstant } from '../../calendar/range.ts';
import { icsText } from '../../calendar/scheduling/itip.ts';
import { isKnownZone } from '../../calendar/zones.ts';
import { isFingerpostError } from '../../core/errors.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import { calendarQuery, freeBusyQuery, readCalendarQuery } from './caldav-report.ts';
import { DavError } from './errors.ts';
import { multigetMembers, patchResults, writeRefusal } from './members.ts';
import { esc, multistatus, multistatusStream, type PropResult, propResponse, statusResponse } from './multistatus.ts';
import { clark, NS } from './names.ts';
import { calendarPath, memberPath } from './paths.ts';
import { type PropContext, objectContentType } from './props.ts';
import type { DavResource } from './resources.ts';
import { syncToken, tokenModseq } from './sync.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';

/**
 * CalDAV (RFC 4791) writes and reports on the calendar store: MKCALENDAR (§5.3.1) and extended
 * MKCOL (RFC 5689), calendar properties by PROPPATCH, PUT/DELETE of object resources stored byte
 * for byte with strong ETags and preconditions (§5.3.2), calendar-query, calendar-multiget,
 * free-busy-query (§7.8-7.10) and sync-collection (RFC 6578).
 */

/** A property selection: names, every live property, or only the names. */
export type PropSelection =
  | { readonly kind: 'prop'; readonly names: ReadonlyArray<{ ns: string; name: string; element?: XmlElement }> }
  | { readonly kind: 'allprop' }
  | { readonly kind: 'propname' };

/** What the DAV dispatcher renders a set of member responses with. */
export interface ResponseWriter {
  /** A `<D:response>` for a resource with the selected properties. */
  response(path: string, res: DavResource, selection: PropSelection): string;
}

/** The properties a body's `<D:prop>` names, or allprop/propname. */
export function selection(body: XmlElement | undefined): PropSelection {
  const prop = child(body, NS.dav, 'prop');
  if (prop) return { kind: 'prop', names: prop.children.map((c) => ({ ns: c.ns, name: c.name, element: c })) };
  if (child(body, NS.dav, 'propname')) return { kind: 'propname' };
  return { kind: 'allprop' };
}

const CALENDAR_COMPONENTS = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']);

/** Calendar properties a client may set, read from `<D:prop>` children; throws for one it may not. */
interface CalendarPatch {
  displayName?: string;
  description?: string | null;
  color?: string | null;
  components?: string[];
  timezone?: string;
}

/** The TZID of a CALDAV:calendar-timezone value (a VCALENDAR with one VTIMEZONE), when it is an IANA name. */
function zoneOf(text: string): string | undefined {
  const m = /^TZID:(.+)$/im.exec(text.replace(/\r?\n[ \t]/g, ''));
  const tzid = m?.[1]?.trim();
  return tzid && isKnownZone(tzid) ? tzid : undefined;
}

/** Applies one `<D:set>`/`<D:remove>` property to a patch; returns the status for it (200, 403, 409). */
function patchProperty(patch: CalendarPatch, p: XmlElement, remove: boolean): number {
  const key = clark(p.ns, p.name);
  switch (key) {
    case clark(NS.dav, 'displayname'):
      if (p.text.length > 200) return 409;
      patch.displayName = remove ? '' : p.text.trim();
      return 200;
    case clark(NS.caldav, 'calendar-description'):
      if (p.text.length > 2000) return 409;
      patch.description = remove ? null : p.text;
      return 200;
    case clark(NS.apple, 'calendar-color'):
      if (!remove && !/^#?[0-9A-Za-z]{3,32}$/.test(p.text.trim())) return 409;
      patch.color = remove ? null : p.text.trim();
      return 200;
    case clark(NS.caldav, 'calendar-timezone'): {
      if (remove) return 200;
      const zone = zoneOf(p.text);
      if (!zone) return 409;
      patch.timezone = zone;
      return 200;
    }
    case clark(NS.caldav, 'calendar-timezone-id'):
      if (remove) return 200;
      if (!isKnownZone(p.text.trim())) return 409;
      patch.timezone = p.text.trim();
      return 200;
    case clark(NS.caldav, 'supported-calendar-component-set'): {
      if (remove) return 403;
      const names = childrenOf(p, NS.caldav, 'comp').map((c) => String(c.attrs.name ?? '').toUpperCase());
      if (!names.length || names.some((n) => !CALENDAR_COMPONENTS.has(n))) return 409;
      patch.components = [...new Set(names)];
      return 200;
    }
    case clark(NS.dav, 'resourcetype'):
      return 200; // only meaningful in MKCOL, checked there
    default:
      return 403;
  }
}

/** Collects a set/remove list into a patch and per-property statuses (RFC 4918 §9.2: all or nothing). */
function readPatch(updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>): {
  patch: CalendarPatch;
  results: PropResult[];
  ok: boolean;
} {
  const patch: CalendarPatch = {};
  const { results, ok } = patchResults(updates.map((u) => ({ prop: u.prop, status: patchProperty(patch, u.prop, u.remove) })));
  return { patch, results, ok };
}

/** The `<D:prop>` children of each `<D:set>` and `<D:remove>` of an element, in order. */
export function propertyUpdates(body: XmlElement | undefined): Array<{ prop: XmlElement; remove: boolean }> {
  const out: Array<{ prop: XmlElement; remove: boolean }> = [];
  for (const action of body?.children ?? []) {
    if (action.ns !== NS.dav || (action.name !== 'set' && action.name !== 'remove')) continue;
    for (const p of child(action, NS.dav, 'prop')?.children ?? []) out.push({ prop: p, remove: action.name === 'remove' });
  }
  return out;
}

/** The CalDAV operations of one request's signed-in user. */
export class CalDav {
  readonly #service: CalendarService;
  readonly #base: string;
  readonly #now: () => number;
  readonly #maxResults: number;
  readonly #maxAttendees: number;
  readonly #maxStreamed: number;

  constructor(options: {
    service: CalendarService;
    publicUrl: string;
    now?: () => number;
    maxResults?: number;
    maxAttendees?: number;
    /** Most responses a calendar-query streams before its 507 (RFC 4918 §11.5). */
    maxStreamed?: number;
  }) {
    this.#service = options.service;
    this.#base = options.publicUrl;
    this.#now = options.now ?? Date.now;
    this.#maxResults = options.maxResults ?? 10_000;
    this.#maxAttendees = options.maxAttendees ?? 50;
    this.#maxStreamed = options.maxStreamed ?? 1_000_000;
  }

  /** Most ATTENDEEs one event may list (CALDAV:max-attendees-per-instance, RFC 4791 §5.2.9): each is scheduled. */
  get maxAttendees(): number {
    return this.#maxAttendees;
  }

  get service(): CalendarService {
    return this.#service;
  }

  /** The sync token of a calendar at a modseq. */
  token(id: number, modseq: number): string {
    return syncToken(this.#base, 'calendar', id, modseq);
  }

  // ---- collections ----

  /** MKCALENDAR / extended MKCOL of a calendar named `name` with the properties of `updates`. */
  async makeCalendar(
    account: DirectoryAccount,
    name: string,
    updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>,
  ): Promise<{ ok: true } | { ok: false; results: PropResult[] }> {
    try {
      checkCalendarName(name);
    } catch {
      throw new DavError(403, 'a calendar name is letters, digits, . _ - (at most 64)');
    }
    const { patch, results, ok } = readPatch(updates);
    if (!ok) return { ok: false, results };
    let cal: Calendar;
    try {
      cal = await this.#service.store.createCalendar(account.id, {
        name,
        displayName: patch.displayName || name,
        timezone: patch.timezone ?? this.#service.settings.defaultTimezone,
      });
    } catch (err) {
      if (isFingerpostError(err, 'already_exists')) throw new DavError(405, 'a calendar by that name exists');
      throw err;
    }
    const { displayName: _d, timezone: _t, ...rest } = patch;
    if (Object.keys(rest).length) await this.#service.store.updateCalendar(cal.id, rest);
    return { ok: true };
  }

  /** PROPPATCH of a calendar (RFC 4918 §9.2): every property or none. */
  async patchCalendar(calendar: Calendar, path: string, updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>): Promise<string> {
    const { patch, results, ok } = readPatch(updates);
    if (ok) {
      const { timezone, ...rest } = patch;
      if (Object.keys(rest).length) await this.#service.store.updateCalendar(calendar.id, rest);
      if (timezone && timezone !== calendar.timezone) await this.#service.setTimezone(calendar, timezone);
    }
    return multistatus([propResponse(path, results)]);
  }

  // ---- objects ----

  /** PUT of a calendar object resource (RFC 4791 §5.3.2); returns whether it was created and its ETag. */
  async put(
    account: DirectoryAccount,
    calendar: Calendar,
    name: string,
    contentType: string,
    body: Buffer,
    cond: { ifMatch?: string; ifNoneMatch?: string; ifScheduleTagMatch?: string },
  ): Promise<{ created: boolean; etag: string }> {
    readOnly(calendar);
    if (calendar.kind === 'inbox')
      throw new DavError(403, 'the scheduling inbox only takes deliveries (RFC 6638 §2.2)', { ns: NS.dav, name: 'need-privileges' });
    try {
      checkObjectName(name);
    } catch (err) {
      throw new DavError(400, (err as Error).message);
    }
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (type !== 'text/calendar')
      throw new DavError(415, 'send calendar objects as text/calendar', { ns: NS.caldav, name: 'supported-calendar-data' });
    if (body.length > this.#service.settings.maxIcsBytes)
      throw new DavError(413, `the object is larger than ${this.#service.settings.maxIcsBytes} bytes`, {
        ns: NS.caldav,
        name: 'max-resource-size',
      });
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new DavError(415, 'the iCalendar text is not UTF-8', { ns: NS.caldav, name: 'supported-calendar-data' });
    }
    let prepared: ReturnType<CalendarService['prepareExact']>;
    try {
      prepared = this.#service.prepareExact(text, calendar.timezone);
    } catch (err) {
      if (err instanceof IcsError)
        throw new DavError(400, err.line !== undefined ? `line ${err.line}: ${err.message}` : err.message, {
          ns: NS.caldav,
          name: 'valid-calendar-data',
        });
      if (isFingerpostError(err, 'limit_exceeded')) throw new DavError(413, err.message, { ns: NS.caldav, name: 'max-resource-size' });
      if (isFingerpostError(err, 'invalid_argument')) throw new DavError(400, err.message, { ns: NS.caldav, name: 'valid-calendar-data' });
      throw err;
    }
    const attendees = schedulingInfo(prepared.object.vcalendar)?.attendees.length ?? 0;
    if (attendees > this.#maxAttendees)
      throw new DavError(403, `at most ${this.#maxAttendees} attendees per event (calendar.max_attendees)`, {
        ns: NS.caldav,
        name: 'max-attendees-per-instance',
      });
    if (!calendar.components.includes(prepared.object.component))
      throw new DavError(403, `this calendar does not take ${prepared.object.component}`, {
        ns: NS.caldav,
        name: 'supported-calendar-component',
      });
    try {
      return await this.#service.store.putObject(calendar, name, prepared.object, cond);
    } catch (err) {
      writeRefusal(err, NS.caldav, calendarPath(account.address, calendar.name));
    }
  }

  /** DELETE of an object resource (with If-Match). */
  async deleteObject(calendar: Calendar, name: string, ifMatch: string | undefined): Promise<void> {
    readOnly(calendar);
    try {
      const gone = await this.#service.store.deleteObject(calendar, name, { ifMatch });
      if (!gone) throw new DavError(404, 'no such calendar object');
    } catch (err) {
      if (err instanceof PreconditionFailed) throw new DavError(412, err.message);
      throw err;
    }
  }

  // ---- reports ----

  /** A REPORT on a calendar collection; returns the status, media type and body. */
  async report(
    account: DirectoryAccount,
    calendar: Calendar,
    body: XmlElement,
    origin: string,
    writer: ResponseWriter,
  ): Promise<{ status: number; type: string; text: string } | { status: number; type: string; stream: Readable }> {
    const path = calendarPath(account.address, calendar.name);
    const objectResponse = (o: StoredObject, sel: PropSelection) =>
      writer.response(memberPath(path, o.name), { kind: 'calendar-object', account, calendar, name: o.name, object: o }, sel);
    const xml = (text: string) => ({ status: 207, type: 'application/xml; charset=utf-8', text });
    if (body.ns === NS.caldav && body.name === 'calendar-query') {
      const query = readCalendarQuery(body);
      const sel = selection(body);
      checkCalendarDataRequest(sel);
      const limit = Math.min(query.nresults ?? this.#maxStreamed, this.#maxStreamed);
      const service = this.#service;
      async function* responses(): AsyncGenerator<string> {
        let n = 0;
        for await (const o of calendarQuery(service, calendar, query)) {
          // RFC 5323 §5.6.2 (as RFC 6352 §8.6.1): a truncated answer ends with a 507 for the collection.
          if (n++ >= limit) {
            yield statusResponse(path, 507);
            return;
          }
          yield objectResponse(o, sel);
        }
      }
      return { status: 207, type: 'application/xml; charset=utf-8', stream: Readable.from(multistatusStream(responses())) };
    }
    if (body.ns === NS.caldav && body.name === 'calendar-multiget') {
      const sel = selection(body);
      const hrefs = childrenOf(body, NS.dav, 'href').map((h) => h.text);
      const target = { area: 'calendars', address: account.address, collection: calendar.name } as const;
      const { names, outside: out } = multigetMembers(hrefs, origin, target, this.#maxResults);
      const found = new Map((await this.#service.store.objectsByName(calendar.id, [...names.keys()])).map((o) => [o.name, o]));
      for (const [name, h] of names) {
        const o = found.get(name);
        out.push(o ? objectResponse(o, sel) : statusResponse(h, 404));
      }
      return xml(multistatus(out));
    }
    if (body.ns === NS.caldav && body.name === 'free-busy-query') {
      const text = await freeBusyQuery(this.#service, calendar, account.address, body, this.#now());
      return { status: 200, type: 'text/calendar; charset=utf-8', text };
    }
    if (body.ns === NS.dav && body.name === 'sync-collection') {
      const since = tokenModseq(child(body, NS.dav, 'sync-token')?.text ?? '', 'calendar', calendar.id, calendar.modseq);
      const changes = await this.#service.store.changesSince(calendar.id, since);
      const sel = selection(body);
      const found = await this.#service.store.objectsByName(
        calendar.id,
        changes.changed.map((c) => c.name),
      );
      const out = found.map((o) => objectResponse(o, sel));
      for (const name of changes.removed) out.push(statusResponse(memberPath(path, name), 404));
      return xml(multistatus(out, this.token(calendar.id, changes.modseq)));
    }
    throw new DavError(403, `the ${body.name.slice(0, 40)} report is not supported on a calendar`, {
      ns: NS.dav,
      name: 'supported-report',
    });
  }
}

/**
 * Renders a requested property of a calendar object that is not a live property: calendar-data,
 * as stored, or expanded into instances when the request's element holds `<C:expand>` (RFC 4791 §9.6.5).
 */
export function calendarData(res: DavResource, ns: string, name: string, element?: XmlElement, maxInstances = 5000): string | undefined {
  if (res.kind !== 'calendar-object' || !res.object || ns !== NS.caldav || name !== 'calendar-data') return undefined;
  const expand = child(element, NS.caldav, 'expand');
  const recurrence = child(element, NS.caldav, 'limit-recurrence-set');
  const freebusy = child(element, NS.caldav, 'limit-freebusy-set');
  const comp = child(element, NS.caldav, 'comp');
  // RFC 4791 §9.6: without any narrowing the object is returned as stored, byte for byte.
  if (!expand && !recurrence && !freebusy && !comp) return esc(res.object.ics);
  let text = res.object.ics;
  if (expand) {
    try {
      text = expandedObject(text, rangeOf(expand, 'expand'), maxInstances, res.calendar.timezone);
    } catch (err) {
      if (err instanceof DavError) throw err;
      // An object ical.js cannot expand is returned as stored (the client can still expand it).
    }
  }
  if (!recurrence && !freebusy && !comp) return esc(text);
  const vcal = loadObject(text);
  if (recurrence && !expand) limitRecurrenceSet(vcal, rangeOf(recurrence, 'limit-recurrence-set'), res.calendar.timezone);
  if (freebusy) limitFreebusySet(vcal, rangeOf(freebusy, 'limit-freebusy-set'));
  if (comp) selectComponent(vcal, compSelection(comp, 0));
  return esc(icsText(vcal));
}

/** Checks a requested calendar-data's narrowing (RFC 4791 §9.6) before a streamed answer starts: its errors are 400s. */
function checkCalendarDataRequest(sel: PropSelection): void {
  if (sel.kind !== 'prop') return;
  const element = sel.names.find((n) => n.ns === NS.caldav && n.name === 'calendar-data')?.element;
  for (const [name, what] of [
    ['expand', 'expand'],
    ['limit-recurrence-set', 'limit-recurrence-set'],
    ['limit-freebusy-set', 'limit-freebusy-set'],
  ] as const) {
    const e = child(element, NS.caldav, name);
    if (e) rangeOf(e, what);
  }
  const comp = child(element, NS.caldav, 'comp');
  if (comp) compSelection(comp, 0);
}

/** The start and end attributes of an expand or limit element (RFC 4791 §9.6.5-§9.6.7). */
function rangeOf(el: XmlElement, what: string): { start: number; end: number } {
  const start = parseInstant(String(el.attrs.start ?? ''));
  const end = parseInstant(String(el.attrs.end ?? ''));
  if (start === undefined || end === undefined || end <= start)
    throw new DavError(400, `${what} needs start and end in UTC (YYYYMMDDTHHMMSSZ), start before end`, {
      ns: NS.caldav,
      name: 'valid-filter',
    });
  return { start, end };
}

/** A C:comp element as a selection (RFC 4791 §9.6.1), at most 4 levels deep. */
function compSelection(el: XmlElement, depth: number): CompSelection {
  const name = String(el.attrs.name ?? '');
  if (!name || depth > 4)
    throw new DavError(400, 'C:comp needs a name (and at most 4 levels)', { ns: NS.caldav, name: 'valid-calendar-data' });
  const props = child(el, NS.caldav, 'allprop')
    ? undefined
    : childrenOf(el, NS.caldav, 'prop').map((p) => ({ name: String(p.attrs.name ?? ''), novalue: p.attrs.novalue === 'yes' }));
  const comps = child(el, NS.caldav, 'allcomp') ? undefined : childrenOf(el, NS.caldav, 'comp').map((c) => compSelection(c, depth + 1));
  return { name, props, comps };
}

/** The content type of a GET of an object. */
export { objectContentType };

export type { PropContext };

/** 403 need-privileges (RFC 3744 §7.1.1) for a write to a calendar the user may only read. */
function readOnly(calendar: Calendar): void {
  if (calendar.subscription)
    throw new DavError(403, 'this calendar mirrors an external feed and is read-only', { ns: NS.dav, name: 'need-privileges' });
  if (readOnlyCalendar(calendar))
    throw new DavError(403, 'this calendar is shared with you read-only', { ns: NS.dav, name: 'need-privileges' });
}
