import ICAL from 'ical.js';
import { ianaZone, utcToWall, wallToUtc } from './zones.ts';

/**
 * Turns a stored calendar object into the busy time it occupies in a window: recurrence (RRULE,
 * RDATE, EXDATE, RECURRENCE-ID overrides incl. RANGE=THISANDFUTURE) expanded by ical.js, times in
 * VTIMEZONE, IANA or floating zones, TRANSP and STATUS honoured (RFC 4791 §7.10, RFC 5545 §3.8.2.7,
 * §3.8.1.11), VFREEBUSY periods (RFC 5545 §3.8.2.6).
 */

/** RFC 5545 §3.2.9 busy types; FREE never blocks time and is not kept. */
export type FbType = 'BUSY' | 'BUSY-TENTATIVE' | 'BUSY-UNAVAILABLE';

/** One instance of busy time, epoch ms, end exclusive. */
export interface BusyInstance {
  readonly start: number;
  readonly end: number;
  readonly type: FbType;
}

/** How far expansion may go and how unzoned times are read. */
export interface ExpandOptions {
  /** IANA zone for floating times, all-day dates and TZIDs nobody defines. */
  readonly zone: string;
  /** Occurrences iterated per recurring component before giving up (counts those before the window). */
  readonly maxInstances: number;
  /**
   * Keep instances that leave the time free (transparent, cancelled) and those of no duration, as
   * a CalDAV time-range test needs (RFC 4791 §9.9); they come back typed BUSY.
   */
  readonly keepFree?: boolean;
}

/** The instances of one object in a window, and whether a recurrence was cut off. */
export interface Expansion {
  readonly instances: BusyInstance[];
  /** True when a recurrence was cut off at `maxInstances`. */
  readonly capped: boolean;
}

/** The latest instant the store can represent: an unbounded recurrence ends here. */
export const END_OF_TIME = 8_640_000_000_000_000;

/** Busy type of one VEVENT (master or override), or null when it leaves the time free. */
export function eventBusyType(c: ICAL.Component): FbType | null {
  const up = (name: string) => {
    const v = c.getFirstPropertyValue(name);
    return typeof v === 'string' ? v.trim().toUpperCase() : '';
  };
  if (up('status') === 'CANCELLED') return null;
  if (up('transp') === 'TRANSPARENT') return null;
  // Outlook exports say more than TRANSP can (documented in docs/calendars.md).
  const ms = up('x-microsoft-cdo-busystatus');
  if (ms === 'FREE') return null;
  if (ms === 'OOF') return 'BUSY-UNAVAILABLE';
  if (ms === 'TENTATIVE') return 'BUSY-TENTATIVE';
  if (up('status') === 'TENTATIVE') return 'BUSY-TENTATIVE';
  return 'BUSY';
}

function tzidOf(c: ICAL.Component, prop: string): string | undefined {
  const tzid = c.getFirstProperty(prop)?.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/** The UTC instant of an ical.js time read from a property with `tzid` (ms). */
export function toUtc(t: ICAL.Time, tzid: string | undefined, zone: string): number {
  const tzName = t.zone?.tzid;
  if (!t.isDate && tzName && tzName !== 'floating') return t.toUnixTime() * 1000;
  const iana = (!t.isDate && tzid && ianaZone(tzid)) || zone;
  return wallToUtc({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, iana);
}

function endTzid(c: ICAL.Component): string | undefined {
  return tzidOf(c, 'dtend') ?? tzidOf(c, 'dtstart');
}

/** Start and end (ms) of a VEVENT as written; a date-time DTSTART alone lasts no time (§3.6.1). */
function span(ev: ICAL.Event, zone: string): { start: number; end: number } {
  const c = ev.component;
  const start = toUtc(ev.startDate, tzidOf(c, 'dtstart'), zone);
  const end = toUtc(ev.endDate, endTzid(c), zone);
  return { start, end: Math.max(start, end) };
}

/** A time read from `prop` in the zone its TZID names in the component tree (ical.js leaves PERIOD values floating). */
function zonedIn(t: ICAL.Time, prop: ICAL.Property): ICAL.Time {
  const tzid = prop.getParameter('tzid');
  if (t.isDate || typeof tzid !== 'string' || (t.zone && t.zone.tzid !== 'floating')) return t;
  const tz = prop.parent?.getTimeZoneByID(tzid);
  if (!tz) return t;
  const zoned = t.clone();
  zoned.zone = tz;
  return zoned;
}

/** Start instants (ms) that an EXDATE removes or a RECURRENCE-ID override stands for. */
function excludedStarts(master: ICAL.Component, overrides: readonly ICAL.Component[], zone: string): Set<number> {
  const excluded = new Set<number>();
  for (const p of master.getAllProperties('exdate'))
    for (const t of p.getValues() as ICAL.Time[]) excluded.add(toUtc(zonedIn(t, p), tzidOfProp(p), zone));
  for (const o of overrides) excluded.add(toUtc(new ICAL.Event(o).recurrenceId, tzidOf(o, 'recurrence-id'), zone));
  return excluded;
}

function tzidOfProp(p: ICAL.Property): string | undefined {
  const tzid = p.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/**
 * The instances `RDATE;VALUE=PERIOD` adds (RFC 5545 §3.8.5.2: each period is one instance with
 * its own end), which ical.js's recurrence iterator cannot walk, minus the `excluded` starts.
 */
function periodRdates(master: ICAL.Component, excluded: ReadonlySet<number>, zone: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const p of master.getAllProperties('rdate')) {
    if (p.type !== 'period') continue;
    for (const period of p.getValues() as ICAL.Period[]) {
      const start = toUtc(zonedIn(period.start, p), tzidOfProp(p), zone);
      const end = toUtc(zonedIn(period.getEnd(), p), tzidOfProp(p), zone);
      if (!excluded.has(start)) out.push({ start, end: Math.max(start, end) });
    }
  }
  return out;
}

/**
 * The zone a floating DTSTART is read in (its IANA TZID without a VTIMEZONE, else the calendar's
 * zone); undefined when ical.js knows the DTSTART's zone itself.
 */
function floatingZone(master: ICAL.Component, zone: string): string | undefined {
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time | null;
  if (!start || start.isDate || (start.zone && start.zone.tzid !== 'floating')) return undefined;
  return ianaZone(tzidOf(master, 'dtstart') ?? '') ?? zone;
}

const isUtc = (t: ICAL.Time | null | undefined): t is ICAL.Time => !!t && !t.isDate && t.zone?.tzid === 'UTC';

/** A UTC time as floating wall-clock time in `zone`. */
function wallClock(t: ICAL.Time, zone: string): ICAL.Time {
  return new ICAL.Time({ ...utcToWall(t.toUnixTime() * 1000, zone), isDate: false }, ICAL.Timezone.localTimezone);
}

function copyOf(c: ICAL.Component): ICAL.Component {
  // Same parent, so the file's VTIMEZONEs still resolve.
  return new ICAL.Component(structuredClone(c.toJSON()) as unknown as unknown[], c.parent ?? undefined);
}

/**
 * The master as ical.js should iterate it: without PERIOD RDATEs (added separately), and, when
 * its DTSTART is floating for ical.js (`zone` given), with a UTC UNTIL and UTC EXDATEs restated
 * as wall-clock time in that zone: ical.js compares them with wall-clock instances as if those
 * were UTC, so the last instance east of Greenwich was lost and UTC EXDATEs never matched.
 */
function iterableMaster(master: ICAL.Component, hasPeriods: boolean, zone: string | undefined): ICAL.Component {
  const rule = master.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  const untilUtc = zone !== undefined && isUtc(rule?.until);
  const exdateUtc =
    zone !== undefined && master.getAllProperties('exdate').some((p) => (p.getValues() as ICAL.Time[]).some((t) => isUtc(t)));
  if (!hasPeriods && !untilUtc && !exdateUtc) return master;
  const copy = copyOf(master);
  if (hasPeriods) for (const p of copy.getAllProperties('rdate')) if (p.type === 'period') copy.removeProperty(p);
  const prop = copy.getFirstProperty('rrule');
  if (untilUtc && prop) {
    const restated = (prop.getFirstValue() as ICAL.Recur).clone();
    restated.until = wallClock(restated.until!, zone);
    prop.setValue(restated);
  }
  if (exdateUtc)
    for (const p of copy.getAllProperties('exdate'))
      p.setValues((p.getValues() as ICAL.Time[]).map((t) => (isUtc(t) ? wallClock(t, zone) : t)));
  return copy;
}

/** Overrides as ical.js should match them to a floating master: a UTC RECURRENCE-ID restated as wall-clock time in `zone`. */
function iterableOverrides(overrides: readonly ICAL.Component[], zone: string | undefined): ICAL.Component[] {
  if (zone === undefined) return [...overrides];
  return overrides.map((o) => {
    const rid = o.getFirstPropertyValue('recurrence-id') as ICAL.Time | null;
    if (!isUtc(rid)) return o;
    const copy = copyOf(o);
    copy.getFirstProperty('recurrence-id')!.setValue(wallClock(rid, zone));
    return copy;
  });
}

function freebusyInstances(c: ICAL.Component, window: { start: number; end: number }, out: BusyInstance[]): void {
  for (const prop of c.getAllProperties('freebusy')) {
    const fb = String(prop.getParameter('fbtype') ?? 'BUSY').toUpperCase();
    if (fb === 'FREE') continue;
    const type: FbType = fb === 'BUSY-TENTATIVE' || fb === 'BUSY-UNAVAILABLE' ? fb : 'BUSY';
    for (const value of prop.getValues() as ICAL.Period[]) {
      const start = value.start.toUnixTime() * 1000;
      const end = value.end ? value.end.toUnixTime() * 1000 : start + value.duration!.toSeconds() * 1000;
      if (end > window.start && start < window.end && end > start) out.push({ start, end, type });
    }
  }
}

const HOUR = 3_600_000;

/** Upper bound of one FREQ unit in ms, for skipping whole periods safely. */
const UNIT_MS: Record<string, number> = {
  SECONDLY: 1000,
  MINUTELY: 60_000,
  HOURLY: HOUR,
  DAILY: 25 * HOUR,
  WEEKLY: 7 * 25 * HOUR,
  MONTHLY: 31 * 25 * HOUR,
  YEARLY: 366 * 25 * HOUR,
};

/**
 * The master's duration in ms when it is exact: from DTEND (RFC 5545 §3.8.5.3: the same exact
 * duration for every instance) or a DURATION without days or weeks (§3.3.6: those are nominal).
 */
function exactDuration(master: ICAL.Component, zone: string): number | undefined {
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time;
  if (start.isDate) return undefined;
  const duration = master.getFirstPropertyValue('duration') as ICAL.Duration | null;
  if (duration) return duration.weeks || duration.days ? undefined : duration.toSeconds() * 1000;
  const end = master.getFirstPropertyValue('dtend') as ICAL.Time | null;
  if (!end) return 0;
  if (end.isDate) return undefined;
  return Math.max(0, toUtc(end, tzidOf(master, 'dtend'), zone) - toUtc(start, tzidOf(master, 'dtstart'), zone));
}

/**
 * Candidates ical.js may reject in a row before a rule counts as matching nothing: its iterator
 * tests every FREQ step against the BYxxx filters without a limit, so FREQ=DAILY;BYMONTH=2;
 * BYMONTHDAY=30 (no such day) held the event loop for minutes and then ran out of memory. 100,000
 * steps cover the rarest real rules above MINUTELY (29 February: at most 8 years of days or hours).
 */
export const MAX_MISSES_IN_A_ROW = 100_000;

/** Thrown by a guarded rule iterator that rejected `MAX_MISSES_IN_A_ROW` candidates in a row. */
export class RuleMatchesNothing extends Error {}

/** Makes every RRULE iterator of an ical.js expansion give up (RuleMatchesNothing) after too many misses. */
function guardRules(it: ICAL.RecurExpansion): ICAL.RecurExpansion {
  const rules = (it as unknown as { ruleIterators: ICAL.RecurIterator[] | null }).ruleIterators ?? [];
  for (const r of rules) {
    const check = r.check_contracting_rules.bind(r);
    let misses = 0;
    r.check_contracting_rules = () => {
      if (check()) {
        misses = 0;
        return true;
      }
      if (++misses >= MAX_MISSES_IN_A_ROW)
        throw new RuleMatchesNothing(`RRULE matched none of ${MAX_MISSES_IN_A_ROW} candidates in a row (after ${r.last.toString()})`);
      return false;
    };
  }
  return it;
}

/**
 * A copy of a recurring master whose DTSTART moved forward by whole recurrence periods, so that
 * expansion need not walk years of instances that end before `before` (epoch ms). Whole periods
 * keep every BYxxx pattern, UNTIL, EXDATE and RDATE as they were; the moved DTSTART itself ends
 * before `before`, where a spurious instance is dropped anyway. Rules with COUNT (counted from the
 * real start) or several RRULEs are left alone.
 */
function fastForward(master: ICAL.Component, first: number, reach: number, before: number): ICAL.Component | undefined {
  const rules = master.getAllProperties('rrule');
  if (rules.length !== 1 || master.hasProperty('exrule')) return undefined;
  const rule = rules[0]!.getFirstValue() as ICAL.Recur;
  if (rule.count || !rule.freq) return undefined;
  const interval = rule.interval || 1;
  const unit = UNIT_MS[rule.freq];
  if (!unit) return undefined;
  const periods = Math.floor((before - first - reach - 2 * interval * unit) / (interval * unit));
  if (periods <= 0) return undefined;
  const dtstart = master.getFirstPropertyValue('dtstart') as ICAL.Time;
  const moved = dtstart.clone();
  const n = periods * interval;
  switch (rule.freq) {
    case 'SECONDLY':
      moved.adjust(0, 0, 0, n);
      break;
    case 'MINUTELY':
      moved.adjust(0, 0, n, 0);
      break;
    case 'HOURLY':
      moved.adjust(0, n, 0, 0);
      break;
    case 'DAILY':
      moved.adjust(n, 0, 0, 0);
      break;
    case 'WEEKLY':
      moved.adjust(7 * n, 0, 0, 0);
      break;
    case 'MONTHLY':
      if (dtstart.day > 28) return undefined;
      moved.month += n;
      moved.adjust(0, 0, 0, 0);
      break;
    case 'YEARLY':
      if (dtstart.month === 2 && dtstart.day === 29) return undefined;
      moved.year += n;
      break;
  }
  // Only what expansion reads; the property values are shared, not copied (nothing mutates them).
  const copy = new ICAL.Component('vevent', master.parent ?? undefined);
  for (const name of ['uid', 'rrule', 'rdate', 'exdate'])
    for (const p of master.getAllProperties(name)) copy.addProperty(new ICAL.Property(p.toJSON() as unknown as unknown[]));
  const start = new ICAL.Property('dtstart');
  start.setValue(moved);
  const tzid = master.getFirstProperty('dtstart')!.getParameter('tzid');
  if (typeof tzid === 'string') start.setParameter('tzid', tzid);
  copy.addProperty(start);
  copy.addPropertyWithValue('duration', new ICAL.Event(master).duration);
  return copy;
}

/**
 * The busy instances of one stored object (a VCALENDAR holding one UID) overlapping `window`.
 * Iteration stops at the window's end or after `maxInstances` occurrences (then `capped`).
 */
export function expandBusy(vcal: ICAL.Component, window: { start: number; end: number }, options: ExpandOptions): Expansion {
  const out: BusyInstance[] = [];
  const push = (start: number, end: number, type: FbType | null) => {
    if (options.keepFree) {
      // RFC 4791 §9.9: an instance of no duration overlaps when it starts inside the window.
      if (start < window.end && (end > window.start || (end <= start && start >= window.start)))
        out.push({ start, end: Math.max(start, end), type: type ?? 'BUSY' });
      return;
    }
    if (type && end > start && end > window.start && start < window.end) out.push({ start, end, type });
  };
  for (const fb of vcal.getAllSubcomponents('vfreebusy')) freebusyInstances(fb, window, out);

  const events = vcal.getAllSubcomponents('vevent');
  const written = events.find((e) => !e.hasProperty('recurrence-id'));
  const overrides = events.filter((e) => e.hasProperty('recurrence-id'));
  if (!written) {
    // Overrides without their master (an invitation to one instance): each stands alone.
    for (const o of overrides) {
      const s = span(new ICAL.Event(o), options.zone);
      push(s.start, s.end, eventBusyType(o));
    }
    return { instances: out, capped: false };
  }

  const hasPeriods = written.getAllProperties('rdate').some((p) => p.type === 'period');
  const excluded = hasPeriods || !written.hasProperty('rrule') ? excludedStarts(written, overrides, options.zone) : undefined;
  if (hasPeriods) for (const p of periodRdates(written, excluded!, options.zone)) push(p.start, p.end, eventBusyType(written));
  const floating = floatingZone(written, options.zone);
  const master = iterableMaster(written, hasPeriods, floating);
  const exceptions = iterableOverrides(overrides, floating);
  const ev = new ICAL.Event(master, { exceptions });
  if (!ev.isRecurring()) {
    const s = span(ev, options.zone);
    if (!hasPeriods || !excluded!.has(s.start)) push(s.start, s.end, eventBusyType(master));
    return { instances: out, capped: false };
  }
  if (!master.hasProperty('rrule')) {
    // ical.js yields DTSTART only through an RRULE; with RDATEs alone it is still the first instance (RFC 5545 §3.8.5.2).
    const s = span(ev, options.zone);
    if (!excluded!.has(s.start)) push(s.start, s.end, eventBusyType(master));
  }

  // Direct overrides stand for their instance wherever they moved it.
  for (const o of overrides) {
    const oe = new ICAL.Event(o);
    const s = span(oe, options.zone);
    push(s.start, s.end, eventBusyType(o));
  }
  // A RANGE=THISANDFUTURE override may move later instances either way; widen the walk by as much.
  let earlier = 0;
  let later = 0;
  for (const o of overrides) {
    if (String(o.getFirstProperty('recurrence-id')?.getParameter('range') ?? '').toUpperCase() !== 'THISANDFUTURE') continue;
    const oe = new ICAL.Event(o);
    const moved = toUtc(oe.startDate, tzidOf(o, 'dtstart'), options.zone);
    const was = toUtc(oe.recurrenceId, tzidOf(o, 'recurrence-id'), options.zone);
    earlier = Math.max(earlier, was - moved);
    later = Math.max(later, moved - was);
  }

  const masterType = eventBusyType(master);
  const startTzid = tzidOf(master, 'dtstart');
  const first = span(ev, options.zone);
  // Longest an instance can last past its recurrence id (plus an hour for a DST change in between).
  const reach = first.end - first.start + later + HOUR;
  const forwarded = fastForward(master, first.start, reach, window.start - earlier);
  const walk = forwarded ? new ICAL.Event(forwarded, { exceptions }) : ev;
  const exactMs = exactDuration(master, options.zone);
  const plain = overrides.length === 0 && exactMs !== undefined;
  const it = guardRules(walk.iterator());
  let count = 0;
  let capped = false;
  const step = (): ICAL.Time | null => {
    try {
      return it.next();
    } catch (err) {
      // ical.js gives up after 500 candidates in a row that EXDATEs remove, the guard after too many
      // the rule rejects: count either as cut off, like the cap.
      if (!(err instanceof RuleMatchesNothing) && !/max tries/i.test((err as Error).message)) throw err;
      capped = true;
      return null;
    }
  };
  for (let next = step(); next; next = step()) {
    if (++count > options.maxInstances) {
      capped = true;
      break;
    }
    const rid = toUtc(next, startTzid, options.zone);
    if (rid >= window.end + earlier) break;
    if (rid + reach <= window.start - earlier) continue; // ends before the window whatever overrides do
    if (plain) {
      // No overrides: the instance starts at its recurrence id and lasts the master's exact duration.
      push(rid, rid + exactMs!, masterType);
      continue;
    }
    const d = walk.getOccurrenceDetails(next);
    const item = d.item as ICAL.Event;
    if (item !== walk && item.recurrenceId && item.recurrenceId.compare(next) === 0) continue; // counted above
    const c = item === walk ? master : item.component;
    const type = item === walk ? masterType : eventBusyType(c);
    const start = toUtc(d.startDate, tzidOf(c, 'dtstart'), options.zone);
    const end = toUtc(d.endDate, endTzid(c), options.zone);
    push(start, end, type);
  }
  return { instances: out, capped };
}

const FOREVER = { start: -END_OF_TIME, end: END_OF_TIME };

/** What the store indexes for an object: the span any instance can occupy, and the one period of a simple event. */
export interface ObjectIndex {
  /** 0: one period (start/end/fbtype below answer every query); 1: expand at query time. */
  readonly expand: 0 | 1;
  readonly fbtype: FbType | null;
  readonly start: number;
  readonly end: number;
}

/** Computes the range index of a stored object; unbounded or capped recurrences reach END_OF_TIME. */
export function indexObject(vcal: ICAL.Component, options: ExpandOptions): ObjectIndex {
  const events = vcal.getAllSubcomponents('vevent');
  const freebusy = vcal.getAllSubcomponents('vfreebusy');
  if (events.length === 0 && freebusy.length === 0) return { expand: 0, fbtype: null, start: 0, end: 0 };
  const master = events.find((e) => !e.hasProperty('recurrence-id'));
  if (freebusy.length === 0 && events.length === 1 && master && !master.hasProperty('rrule') && !master.hasProperty('rdate')) {
    const s = span(new ICAL.Event(master), options.zone);
    const type = eventBusyType(master);
    return { expand: 0, fbtype: s.end > s.start ? type : null, start: s.start, end: s.end };
  }
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  // The earliest DTSTART of any component bounds the range even when that instance is free.
  for (const e of events) start = Math.min(start, toUtc(new ICAL.Event(e).startDate, tzidOf(e, 'dtstart'), options.zone));
  if (master?.hasProperty('rrule')) probeRules(master);
  if (master?.hasProperty('rrule') && !boundedRule(master)) {
    // An open-ended rule: no need to walk it; every later window may hold an instance.
    return { expand: 1, fbtype: null, start: Number.isFinite(start) ? start : 0, end: END_OF_TIME };
  }
  const all = expandBusy(vcal, FOREVER, options);
  for (const i of all.instances) {
    start = Math.min(start, i.start);
    end = Math.max(end, i.end);
  }
  if (!Number.isFinite(start)) start = 0;
  if (all.capped) end = END_OF_TIME;
  if (!Number.isFinite(end)) end = start;
  return { expand: 1, fbtype: null, start, end };
}

/**
 * Refuses (throws RuleMatchesNothing) a master whose RRULE finds no instance after DTSTART within
 * the guard, so that such an object is never stored for every later query to search again.
 */
function probeRules(master: ICAL.Component): void {
  const it = guardRules(new ICAL.Event(master).iterator());
  try {
    for (let i = 0; i < 3 && it.next(); i++);
  } catch (err) {
    // EXDATEs removing 500 candidates in a row: expansion counts that as capped, not as an error.
    if (!/max tries/i.test((err as Error).message)) throw err;
  }
}

function boundedRule(master: ICAL.Component): boolean {
  return master.getAllProperties('rrule').every((p) => {
    const r = p.getFirstValue() as ICAL.Recur;
    return r.isFinite();
  });
}
