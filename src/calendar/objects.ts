import { createHash } from 'node:crypto';
import ICAL from 'ical.js';
import { IcsError, type ParsedIcs, type RawComponent } from './ics.ts';
import { ianaZone } from './zones.ts';

/**
 * Calendar object resources (RFC 4791 §4.1): every component with one UID — a master and its
 * RECURRENCE-ID overrides — plus the VTIMEZONEs they use, in one VCALENDAR. Import splits a file
 * into these; HTTP PUT must carry exactly one.
 */

export type ObjectComponent = 'VEVENT' | 'VTODO' | 'VJOURNAL' | 'VFREEBUSY';
const OBJECT_COMPONENTS = new Set<string>(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']);

/** One calendar object resource ready to store (RFC 4791 §4.1: one UID, its VTIMEZONEs). */
export interface CalendarObjectData {
  readonly uid: string;
  readonly component: ObjectComponent;
  /** The object as stored: VCALENDAR with VERSION, PRODID, the VTIMEZONEs used and the components. */
  readonly ics: string;
  readonly vcalendar: ICAL.Component;
  /** Quoted strong ETag of `ics` (RFC 9110 §8.8.3). */
  readonly etag: string;
}

/** The objects of a file and what was accepted with a warning. */
export interface SplitResult {
  readonly objects: CalendarObjectData[];
  /** Things accepted but worth telling the user (a TZID with no definition, read in the calendar's zone). */
  readonly warnings: string[];
}

const PRODID = '-//Fingerpost//Calendar//EN';

/** The quoted ETag of stored iCalendar text. */
export function etagOf(ics: string): string {
  return `"${createHash('sha256').update(ics).digest('base64url').slice(0, 27)}"`;
}

function tzidsUsed(c: ICAL.Component, into: Set<string>): void {
  for (const p of c.getAllProperties()) {
    const tzid = p.getParameter('tzid');
    if (typeof tzid === 'string') into.add(tzid);
  }
  for (const sub of c.getAllSubcomponents()) tzidsUsed(sub, into);
}

function clone(c: ICAL.Component): ICAL.Component {
  return new ICAL.Component(structuredClone(c.toJSON()) as unknown as unknown[]);
}

/** Builds the stored VCALENDAR text for a set of components of one UID. */
export function buildObject(
  uid: string,
  component: ObjectComponent,
  parts: ICAL.Component[],
  zones: ReadonlyMap<string, ICAL.Component>,
  prodid = PRODID,
): CalendarObjectData {
  const vcal = new ICAL.Component('vcalendar');
  vcal.addPropertyWithValue('version', '2.0');
  vcal.addPropertyWithValue('prodid', prodid);
  const used = new Set<string>();
  for (const p of parts) tzidsUsed(p, used);
  for (const tzid of [...used].sort()) {
    const tz = zones.get(tzid);
    if (tz) vcal.addSubcomponent(clone(tz));
  }
  for (const p of parts) vcal.addSubcomponent(clone(p));
  const ics = `${vcal.toString().replace(/\r?\n/g, '\r\n')}\r\n`;
  return { uid, component, ics, vcalendar: vcal, etag: etagOf(ics) };
}

/**
 * Groups the components of parsed calendars by UID (RFC 5545 §3.8.4.7, §3.8.4.4): one master at
 * most, distinct RECURRENCE-IDs, one component type per UID. `single` demands exactly one UID.
 */
export function splitObjects(parsed: ParsedIcs, options: { single?: boolean } = {}): SplitResult {
  const zones = new Map<string, ICAL.Component>();
  const groups = new Map<
    string,
    { component: ObjectComponent; parts: ICAL.Component[]; masters: number; rids: Set<string>; line: number }
  >();
  const warnings: string[] = [];
  let prodid: string | undefined;

  parsed.calendars.forEach((cal, ci) => {
    const raw = parsed.raw[ci]!;
    prodid ??= String(cal.getFirstPropertyValue('prodid') ?? '') || undefined;
    const subs = cal.getAllSubcomponents();
    subs.forEach((sub, si) => {
      const rawSub: RawComponent | undefined = raw.children[si];
      const line = rawSub?.line;
      const name = sub.name.toUpperCase();
      if (name === 'VTIMEZONE') {
        zones.set(String(sub.getFirstPropertyValue('tzid')), sub);
        return;
      }
      if (!OBJECT_COMPONENTS.has(name)) return; // VAVAILABILITY, X- components: kept out of the store
      const uid = String(sub.getFirstPropertyValue('uid')).trim();
      let group = groups.get(uid);
      if (!group) {
        group = { component: name as ObjectComponent, parts: [], masters: 0, rids: new Set(), line: line ?? 0 };
        groups.set(uid, group);
      }
      if (group.component !== name)
        throw new IcsError(line, `${name} with UID ${uid} clashes with the ${group.component} at line ${group.line}`);
      const rid = sub.getFirstProperty('recurrence-id');
      if (rid) {
        const key = String(rid.getFirstValue());
        if (group.rids.has(key)) throw new IcsError(line, `a second override of ${key} for UID ${uid}`);
        group.rids.add(key);
      } else if (++group.masters > 1) {
        throw new IcsError(line, `a second ${name} with UID ${uid} and no RECURRENCE-ID (first at line ${group.line})`);
      }
      group.parts.push(sub);
    });
  });

  if (options.single && groups.size !== 1) {
    throw new IcsError(
      undefined,
      groups.size === 0 ? 'no VEVENT, VTODO, VJOURNAL or VFREEBUSY' : `one calendar object must hold one UID, found ${groups.size}`,
    );
  }
  const objects: CalendarObjectData[] = [];
  const unknown = new Set<string>();
  for (const [uid, g] of groups) {
    const used = new Set<string>();
    for (const p of g.parts) tzidsUsed(p, used);
    for (const tzid of used) if (!zones.has(tzid) && !ianaZone(tzid)) unknown.add(tzid);
    objects.push(buildObject(uid, g.component, g.parts, zones, prodid));
  }
  for (const tzid of unknown)
    warnings.push(`time zone "${tzid}" has no VTIMEZONE and is not an IANA name; its times are read in the calendar's time zone`);
  return { objects, warnings };
}

/** Re-reads stored object text (already validated on the way in). */
export function loadObject(ics: string): ICAL.Component {
  return new ICAL.Component(ICAL.parse(ics) as unknown as unknown[]);
}
