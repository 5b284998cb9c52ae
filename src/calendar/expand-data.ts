import ICAL from 'ical.js';
import { toUtc } from './expand.ts';
import type { TimeRange } from './freebusy.ts';
import { loadObject } from './objects.ts';

/**
 * CALDAV:expand (RFC 4791 §9.6.5): a stored object rewritten as the instances that overlap a
 * range, each a component of its own with a UTC DTSTART, DTEND and RECURRENCE-ID and without
 * RRULE, RDATE and EXDATE; overrides stand in for the instances they replace. Non-recurring
 * components that overlap are kept, in UTC. No VTIMEZONE is needed afterwards.
 */

const COMPONENTS = ['vevent', 'vtodo', 'vjournal'];

function tzidOf(c: ICAL.Component, prop: string): string | undefined {
  const tzid = c.getFirstProperty(prop)?.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/** A time as UTC, read the way free/busy reads it (an IANA TZID without VTIMEZONE; floating in `zone`). */
function utc(t: ICAL.Time, tzid: string | undefined, zone: string): ICAL.Time {
  return t.isDate ? t : ICAL.Time.fromJSDate(new Date(toUtc(t, tzid, zone)), true);
}

interface Times {
  readonly start: ICAL.Time;
  readonly end: ICAL.Time;
  readonly recurrenceId: ICAL.Time | undefined;
  readonly ridTzid: string | undefined;
}

function instance(item: ICAL.Component, times: Times, zone: string): ICAL.Component {
  const c = new ICAL.Component(structuredClone(item.toJSON()) as unknown as unknown[]);
  const startTzid = tzidOf(item, 'dtstart');
  const endTzid = tzidOf(item, 'dtend') ?? startTzid;
  for (const name of ['rrule', 'rdate', 'exdate', 'exrule', 'duration', 'dtstart', 'dtend', 'recurrence-id']) c.removeAllProperties(name);
  c.addPropertyWithValue('dtstart', utc(times.start, startTzid, zone));
  if (item.hasProperty('dtend') || item.hasProperty('duration')) c.addPropertyWithValue('dtend', utc(times.end, endTzid, zone));
  if (times.recurrenceId) c.addPropertyWithValue('recurrence-id', utc(times.recurrenceId, times.ridTzid, zone));
  return c;
}

/**
 * The expanded text of a stored object in `range`, at most `maxInstances` instances per recurring
 * component; floating times are read in `zone` (the calendar's).
 */
export function expandedObject(ics: string, range: TimeRange, maxInstances: number, zone: string): string {
  const vcal = loadObject(ics);
  const out = new ICAL.Component('vcalendar');
  out.addPropertyWithValue('version', '2.0');
  out.addPropertyWithValue('prodid', String(vcal.getFirstPropertyValue('prodid') ?? '-//Fingerpost//Calendar//EN'));
  const parts = vcal.getAllSubcomponents().filter((c) => COMPONENTS.includes(c.name));
  const overlaps = (c: ICAL.Component, start: ICAL.Time, end: ICAL.Time) => {
    const s = toUtc(start, tzidOf(c, 'dtstart'), zone);
    const e = toUtc(end, tzidOf(c, 'dtend') ?? tzidOf(c, 'dtstart'), zone);
    return s < range.end && (e > range.start || (e === s && s >= range.start));
  };
  const text = () => `${out.toString().replace(/\r?\n/g, '\r\n')}\r\n`;
  const master = parts.find((c) => !c.hasProperty('recurrence-id'));
  if (master && (master.hasProperty('rrule') || master.hasProperty('rdate'))) {
    const event = new ICAL.Event(master);
    for (const o of parts) if (o !== master) event.relateException(o);
    const ridTzid = tzidOf(master, 'dtstart');
    const it = event.iterator();
    for (let n = 0, next = it.next(); next && n < maxInstances; n++, next = it.next()) {
      if (toUtc(next, ridTzid, zone) >= range.end) break;
      const d = event.getOccurrenceDetails(next);
      const item = d.item.component;
      if (overlaps(item, d.startDate, d.endDate))
        out.addSubcomponent(instance(item, { start: d.startDate, end: d.endDate, recurrenceId: d.recurrenceId, ridTzid }, zone));
    }
    return text();
  }
  for (const c of parts) {
    if (!(c.getFirstPropertyValue('dtstart') instanceof ICAL.Time)) {
      out.addSubcomponent(new ICAL.Component(structuredClone(c.toJSON()) as unknown as unknown[]));
      continue;
    }
    const e = new ICAL.Event(c);
    const recurrenceId = (c.getFirstPropertyValue('recurrence-id') as ICAL.Time | null) ?? undefined;
    if (overlaps(c, e.startDate, e.endDate))
      out.addSubcomponent(instance(c, { start: e.startDate, end: e.endDate, recurrenceId, ridTzid: tzidOf(c, 'recurrence-id') }, zone));
  }
  return text();
}
