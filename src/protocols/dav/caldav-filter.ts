import { COLLATIONS, type CompFilter, type ParamFilter, type PropFilter, type QueryRange, type TextMatch } from '../../calendar/query.ts';
import { DavError } from './errors.ts';
import { NS } from './names.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';

/**
 * Reads CALDAV:filter (RFC 4791 §9.7) and CALDAV:time-range (§9.9) elements into the filter
 * model of `calendar/query.ts`; malformed ones are the client's error (400, or 403
 * supported-collation / valid-filter).
 */

const UTC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** An iCalendar UTC date-time (RFC 5545 §3.3.5 form 2) in epoch ms. */
export function parseUtc(text: string): number | undefined {
  const m = UTC.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) return undefined;
  return ms;
}

/** A time-range element: at least one of start and end, each a UTC date-time (§9.9). */
export function parseTimeRange(el: XmlElement): QueryRange {
  const { start, end } = el.attrs;
  if (start === undefined && end === undefined) throw new DavError(400, 'a time-range needs a start or an end');
  const s = start === undefined ? Number.NEGATIVE_INFINITY : parseUtc(start);
  const e = end === undefined ? Number.POSITIVE_INFINITY : parseUtc(end);
  if (s === undefined || e === undefined)
    throw new DavError(400, 'time-range start and end are UTC date-times like 20260101T000000Z', { ns: NS.caldav, name: 'valid-filter' });
  if (e <= s) throw new DavError(400, 'the time-range ends before it starts', { ns: NS.caldav, name: 'valid-filter' });
  return { start: s, end: e };
}

function textMatch(el: XmlElement | undefined): TextMatch | undefined {
  if (!el) return undefined;
  const collation = el.attrs.collation ?? 'i;ascii-casemap';
  if (!COLLATIONS.has(collation))
    throw new DavError(403, `collation ${collation.slice(0, 40)} is not supported`, { ns: NS.caldav, name: 'supported-collation' });
  return { text: el.text, collation, negate: el.attrs['negate-condition'] === 'yes' };
}

function nameOf(el: XmlElement): string {
  const name = el.attrs.name;
  if (!name || name.length > 100) throw new DavError(400, `${el.name} needs a name attribute`, { ns: NS.caldav, name: 'valid-filter' });
  return name;
}

function paramFilter(el: XmlElement): ParamFilter {
  const tm = textMatch(child(el, NS.caldav, 'text-match'));
  return { name: nameOf(el), isNotDefined: child(el, NS.caldav, 'is-not-defined') !== undefined, ...(tm ? { textMatch: tm } : {}) };
}

function propFilter(el: XmlElement): PropFilter {
  const tr = child(el, NS.caldav, 'time-range');
  const tm = textMatch(child(el, NS.caldav, 'text-match'));
  return {
    name: nameOf(el),
    isNotDefined: child(el, NS.caldav, 'is-not-defined') !== undefined,
    ...(tr ? { timeRange: parseTimeRange(tr) } : {}),
    ...(tm ? { textMatch: tm } : {}),
    params: childrenOf(el, NS.caldav, 'param-filter').map(paramFilter),
  };
}

function compFilter(el: XmlElement): CompFilter {
  const tr = child(el, NS.caldav, 'time-range');
  return {
    name: nameOf(el),
    isNotDefined: child(el, NS.caldav, 'is-not-defined') !== undefined,
    ...(tr ? { timeRange: parseTimeRange(tr) } : {}),
    props: childrenOf(el, NS.caldav, 'prop-filter').map(propFilter),
    comps: childrenOf(el, NS.caldav, 'comp-filter').map(compFilter),
  };
}

/** The filter of a calendar-query: exactly one comp-filter naming VCALENDAR (§9.7.1). */
export function parseFilter(filter: XmlElement | undefined): CompFilter {
  const top = childrenOf(filter, NS.caldav, 'comp-filter');
  if (top.length !== 1 || top[0]!.attrs.name?.toUpperCase() !== 'VCALENDAR')
    throw new DavError(403, 'the filter must hold one comp-filter for VCALENDAR', { ns: NS.caldav, name: 'valid-filter' });
  return compFilter(top[0]!);
}
