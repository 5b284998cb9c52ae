import ICAL from 'ical.js';
import { toUtc } from './expand.ts';
import type { TimeRange } from './freebusy.ts';

/**
 * The ways a CalDAV client narrows the calendar data it gets back (RFC 4791 §9.6): a subset of
 * components and properties (§9.6.1-§9.6.4), the master and only the overrides that touch a range
 * (limit-recurrence-set, §9.6.6), and only the FREEBUSY periods that overlap a range
 * (limit-freebusy-set, §9.6.7). Each works on a parsed VCALENDAR in place.
 */

function tzidOf(c: ICAL.Component, prop: string): string | undefined {
  const tzid = c.getFirstProperty(prop)?.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

function timeOf(c: ICAL.Component, prop: string, zone: string): number | undefined {
  const v = c.getFirstPropertyValue(prop);
  return v instanceof ICAL.Time ? toUtc(v, tzidOf(c, prop), zone) : undefined;
}

/**
 * limit-recurrence-set (RFC 4791 §9.6.6): every component without RECURRENCE-ID stays; an override
 * stays when the instance it replaces (its RECURRENCE-ID) or the override itself overlaps `range`.
 */
export function limitRecurrenceSet(vcal: ICAL.Component, range: TimeRange, zone: string): void {
  for (const c of [...vcal.getAllSubcomponents()]) {
    const rid = timeOf(c, 'recurrence-id', zone);
    if (rid === undefined) continue;
    const start = timeOf(c, 'dtstart', zone) ?? rid;
    const duration = c.getFirstPropertyValue('duration');
    const end =
      timeOf(c, 'dtend', zone) ??
      timeOf(c, 'due', zone) ??
      (duration instanceof ICAL.Duration ? start + duration.toSeconds() * 1000 : start);
    const touches = (s: number, e: number) => s < range.end && (e > range.start || (e === s && s >= range.start));
    if (!touches(rid, rid) && !touches(start, end)) vcal.removeSubcomponent(c);
  }
}

/** limit-freebusy-set (RFC 4791 §9.6.7): FREEBUSY properties keep only the periods that overlap `range`. */
export function limitFreebusySet(vcal: ICAL.Component, range: TimeRange): void {
  for (const fb of vcal.getAllSubcomponents('vfreebusy'))
    for (const p of [...fb.getAllProperties('freebusy')]) {
      const keep = p.getValues().filter((v) => {
        if (!(v instanceof ICAL.Period)) return true;
        const s = v.start.toUnixTime() * 1000;
        const e = v.getEnd().toUnixTime() * 1000;
        return s < range.end && e > range.start;
      });
      if (keep.length === 0) fb.removeProperty(p);
      else p.setValues(keep);
    }
}

/** A `C:comp` selection (RFC 4791 §9.6.1): which properties and sub-components to return. */
export interface CompSelection {
  readonly name: string;
  /** undefined: all properties (C:allprop); else the named ones, `novalue` ones emptied. */
  readonly props: ReadonlyArray<{ readonly name: string; readonly novalue: boolean }> | undefined;
  /** undefined: all sub-components (C:allcomp); else only those named. */
  readonly comps: readonly CompSelection[] | undefined;
}

/** Keeps in `c` only what `sel` names (RFC 4791 §9.6.1-§9.6.4), recursively. */
export function selectComponent(c: ICAL.Component, sel: CompSelection): void {
  if (sel.props) {
    const wanted = new Map(sel.props.map((p) => [p.name.toLowerCase(), p.novalue]));
    for (const p of [...c.getAllProperties()]) {
      const novalue = wanted.get(p.name);
      if (novalue === undefined) c.removeProperty(p);
      else if (novalue) p.setValue('');
    }
  }
  if (sel.comps) {
    const byName = new Map(sel.comps.map((s) => [s.name.toLowerCase(), s]));
    for (const sub of [...c.getAllSubcomponents()]) {
      const s = byName.get(sub.name);
      if (!s) c.removeSubcomponent(sub);
      else selectComponent(sub, s);
    }
  }
}
