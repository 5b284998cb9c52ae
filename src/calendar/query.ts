import ICAL from 'ical.js';
import { expandBusy, toUtc } from './expand.ts';

/**
 * CalDAV calendar-query filters (RFC 4791 §9.7) evaluated on a stored object: nested comp-filters,
 * prop-filters and param-filters with is-not-defined, text-match (i;ascii-casemap, i;octet,
 * i;unicode-casemap as case-folding) and time-range (§9.9), recurring events expanded by the
 * same code free/busy uses, transparent and zero-length instances included.
 */

/** A time range, epoch ms; an open end is ±Infinity. */
export interface QueryRange {
  readonly start: number;
  readonly end: number;
}

export interface TextMatch {
  readonly text: string;
  readonly collation: string;
  readonly negate: boolean;
}

export interface ParamFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly textMatch?: TextMatch;
}

export interface PropFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly timeRange?: QueryRange;
  readonly textMatch?: TextMatch;
  readonly params: readonly ParamFilter[];
}

export interface CompFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly timeRange?: QueryRange;
  readonly props: readonly PropFilter[];
  readonly comps: readonly CompFilter[];
}

/** Collations a server must support (RFC 4791 §7.5.1) plus i;unicode-casemap (RFC 5051). */
export const COLLATIONS = new Set(['i;ascii-casemap', 'i;octet', 'i;unicode-casemap']);

/** The time range of the VCALENDAR > component filter, which lets the store narrow candidates. */
export function outerRange(filter: CompFilter): QueryRange | undefined {
  for (const c of filter.comps) if (c.timeRange) return c.timeRange;
  return undefined;
}

function fold(text: string, collation: string): string {
  if (collation === 'i;octet') return text;
  if (collation === 'i;ascii-casemap') return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return text.toLowerCase();
}

/** RFC 4791 §9.7.5: substring match under the collation, negated when asked. */
export function textMatches(value: string, m: TextMatch): boolean {
  const hit = fold(value, m.collation).includes(fold(m.text, m.collation));
  return m.negate ? !hit : hit;
}

function propText(p: ICAL.Property): string[] {
  return p.getValues().map((v) => (typeof v === 'string' ? v : String(v)));
}

function paramMatches(p: ICAL.Property, f: ParamFilter): boolean {
  const v = p.getParameter(f.name.toLowerCase());
  if (f.isNotDefined) return v === undefined || v === null;
  if (v === undefined || v === null) return false;
  if (!f.textMatch) return true;
  const values = Array.isArray(v) ? v.map(String) : [String(v)];
  return values.some((x) => textMatches(x, f.textMatch!));
}

function propertyTime(p: ICAL.Property, zone: string): number | undefined {
  const v = p.getFirstValue();
  if (!(v instanceof ICAL.Time)) return undefined;
  const tzid = p.getParameter('tzid');
  return toUtc(v, typeof tzid === 'string' ? tzid : undefined, zone);
}

function propMatches(c: ICAL.Component, f: PropFilter, zone: string): boolean {
  const props = c.getAllProperties(f.name.toLowerCase());
  if (f.isNotDefined) return props.length === 0;
  if (props.length === 0) return false;
  return props.some((p) => {
    if (f.timeRange) {
      const t = propertyTime(p, zone);
      if (t === undefined || !(t >= f.timeRange.start && t < f.timeRange.end)) return false;
    }
    if (f.textMatch && !propText(p).some((v) => textMatches(v, f.textMatch!))) return false;
    return f.params.every((pf) => paramMatches(p, pf));
  });
}

function timeOf(c: ICAL.Component, name: string, zone: string): number | undefined {
  const p = c.getFirstProperty(name);
  return p ? propertyTime(p, zone) : undefined;
}

const overlaps = (s: number, e: number, r: QueryRange) => s < r.end && (e > r.start || (e <= s && s >= r.start));

/** RFC 4791 §9.9 for one component of an object (events by expansion of the whole object). */
function inRange(vcal: ICAL.Component, c: ICAL.Component, range: QueryRange, zone: string, maxInstances: number): boolean {
  const name = c.name.toUpperCase();
  if (name === 'VEVENT') {
    const window = { start: Math.max(range.start, -8.64e15), end: Math.min(range.end, 8.64e15) };
    return expandBusy(vcal, window, { zone, maxInstances, keepFree: true }).instances.length > 0;
  }
  if (name === 'VTODO') {
    const start = timeOf(c, 'dtstart', zone);
    const due = timeOf(c, 'due', zone);
    const duration = c.getFirstPropertyValue('duration');
    if (start !== undefined) {
      const end = due ?? (duration instanceof ICAL.Duration ? start + duration.toSeconds() * 1000 : start);
      return overlaps(start, end, range);
    }
    if (due !== undefined) return range.start < due && range.end >= due;
    const completed = timeOf(c, 'completed', zone);
    const created = timeOf(c, 'created', zone);
    if (completed !== undefined) return created !== undefined ? overlaps(created, completed, range) : completed >= range.start;
    if (created !== undefined) return range.end > created;
    return true;
  }
  if (name === 'VJOURNAL') {
    const start = timeOf(c, 'dtstart', zone);
    return start !== undefined && start >= range.start && start < range.end;
  }
  if (name === 'VFREEBUSY') {
    const s = timeOf(c, 'dtstart', zone);
    const e = timeOf(c, 'dtend', zone);
    return s !== undefined && e !== undefined && overlaps(s, e, range);
  }
  if (name === 'VALARM') return true;
  return false;
}

function compMatches(vcal: ICAL.Component, c: ICAL.Component, f: CompFilter, zone: string, maxInstances: number): boolean {
  if (f.timeRange && !inRange(vcal, c, f.timeRange, zone, maxInstances)) return false;
  if (!f.props.every((p) => propMatches(c, p, zone))) return false;
  return f.comps.every((sub) => componentsMatch(vcal, c, sub, zone, maxInstances));
}

function componentsMatch(vcal: ICAL.Component, parent: ICAL.Component, f: CompFilter, zone: string, maxInstances: number): boolean {
  const subs = parent.getAllSubcomponents(f.name.toLowerCase());
  if (f.isNotDefined) return subs.length === 0;
  return subs.some((c) => compMatches(vcal, c, f, zone, maxInstances));
}

/**
 * Whether a stored object (its VCALENDAR) matches the top-level filter, which names VCALENDAR
 * (RFC 4791 §9.7.1). `zone` reads floating times; `maxInstances` bounds recurrence expansion.
 */
export function objectMatches(vcal: ICAL.Component, filter: CompFilter, zone: string, maxInstances: number): boolean {
  if (filter.name.toUpperCase() !== 'VCALENDAR') return false;
  if (filter.isNotDefined) return false;
  if (!filter.props.every((p) => propMatches(vcal, p, zone))) return false;
  return filter.comps.every((sub) => componentsMatch(vcal, vcal, sub, zone, maxInstances));
}
