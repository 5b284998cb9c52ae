import { FingerpostError } from '../core/errors.ts';
import type { TimeRange } from './freebusy.ts';

/**
 * Time range parameters of free/busy queries: RFC 3339 date-times with a zone (`2026-11-02T09:00:00Z`,
 * `2026-11-02T10:00:00+01:00`) or the iCalendar UTC form (`20261102T090000Z`, RFC 5545 §3.3.5).
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const ICAL_UTC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function fieldsValid(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return false;
  return h <= 23 && mi <= 59 && s <= 60 && y >= 1970 && y <= 9999;
}

/** Parses one instant; undefined when it is neither form or names an impossible date. */
export function parseInstant(text: string): number | undefined {
  let m = ICAL_UTC.exec(text);
  if (m) {
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    return fieldsValid(y, mo, d, h, mi, s) ? Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59)) : undefined;
  }
  m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!fieldsValid(y, mo, d, h, mi, s)) return undefined;
  const zone = m[8]!;
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  return Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms) - offset;
}

/**
 * Validates a query range: both ends present and well-formed, start before end, no longer than
 * `maxMs`. Throws `invalid_argument` with a sentence safe to show the client.
 */
export function parseRange(start: unknown, end: unknown, maxMs: number): TimeRange {
  if (typeof start !== 'string' || start === '')
    throw new FingerpostError('invalid_argument', 'the range needs a start (RFC 3339 or 20261102T090000Z)');
  if (typeof end !== 'string' || end === '')
    throw new FingerpostError('invalid_argument', 'the range needs an end (RFC 3339 or 20261102T090000Z)');
  const s = parseInstant(start);
  if (s === undefined)
    throw new FingerpostError(
      'invalid_argument',
      `start "${start.slice(0, 40)}" is not an RFC 3339 date-time with a zone or a UTC date-time like 20261102T090000Z`,
    );
  const e = parseInstant(end);
  if (e === undefined)
    throw new FingerpostError(
      'invalid_argument',
      `end "${end.slice(0, 40)}" is not an RFC 3339 date-time with a zone or a UTC date-time like 20261102T090000Z`,
    );
  if (e <= s) throw new FingerpostError('invalid_argument', 'the range is inverted or empty: end must be after start');
  if (e - s > maxMs) throw new FingerpostError('invalid_argument', `the range is too long: at most ${Math.round(maxMs / 86_400_000)} days`);
  return { start: s, end: e };
}

/** RFC 3339 UTC without fractional seconds (STANDARDS §9.10). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** iCalendar UTC date-time `20261102T090000Z` (RFC 5545 §3.3.5 form #2). */
export function icalUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}
