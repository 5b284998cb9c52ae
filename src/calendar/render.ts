import { randomUUID } from 'node:crypto';
import type { FbType } from './expand.ts';
import type { BusyPeriod, TimeRange } from './freebusy.ts';
import { icalUtc, rfc3339 } from './range.ts';

/** A computed free/busy answer for one account, before it is rendered. */
export interface FreeBusyResult {
  readonly account: string;
  readonly range: TimeRange;
  readonly busy: readonly BusyPeriod[];
  /** A recurrence was cut off at `calendar.max_instances`: later instances may be missing. */
  readonly truncated: boolean;
}

/** The JSON form of a free/busy answer (docs/calendars.md). */
export interface FreeBusyJson {
  readonly account: string;
  readonly start: string;
  readonly end: string;
  readonly busy: ReadonlyArray<{ readonly start: string; readonly end: string; readonly type: FbType }>;
  readonly truncated: boolean;
}

/** Renders the JSON object: RFC 3339 UTC times, periods sorted and non-overlapping. */
export function freeBusyJson(r: FreeBusyResult): FreeBusyJson {
  return {
    account: r.account,
    start: rfc3339(r.range.start),
    end: rfc3339(r.range.end),
    busy: r.busy.map((p) => ({ start: rfc3339(p.start), end: rfc3339(p.end), type: p.type })),
    truncated: r.truncated,
  };
}

/** Folds a content line at 75 octets without splitting a UTF-8 sequence (RFC 5545 §3.1). */
export function foldLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    // Step back over UTF-8 continuation bytes (10xxxxxx) so a character stays whole.
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
    limit = 74; // continuation lines start with one space
  }
  return parts.join('\r\n ');
}

/** A `mailto:` URI for an address (RFC 6068: characters outside the safe set percent-encoded). */
export function mailto(address: string): string {
  return `mailto:${address.replace(/[^A-Za-z0-9.!$&'*+,;=_~@-]/gu, (c) => encodeURIComponent(c))}`;
}

/** Escapes a TEXT value (RFC 5545 §3.3.11). */
function text(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/**
 * Renders a VFREEBUSY (RFC 5545 §3.6.4) as published free/busy (RFC 5546 §3.3.1 PUBLISH):
 * DTSTART/DTEND = the range, one FREEBUSY property per period in UTC, sorted by start.
 */
export function freeBusyIcs(r: FreeBusyResult, now: number, prodid = '-//Fingerpost//Free-Busy//EN'): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:${prodid}`,
    'METHOD:PUBLISH',
    'BEGIN:VFREEBUSY',
    `UID:${randomUUID()}`,
    `DTSTAMP:${icalUtc(now)}`,
    `ORGANIZER:${mailto(r.account)}`,
    `DTSTART:${icalUtc(r.range.start)}`,
    `DTEND:${icalUtc(r.range.end)}`,
    ...r.busy.map((p) => `FREEBUSY;FBTYPE=${p.type}:${icalUtc(p.start)}/${icalUtc(p.end)}`),
    ...(r.truncated ? [`COMMENT:${text('Some recurring events were cut off at the server limit; later instances may be missing.')}`] : []),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return `${lines.map(foldLine).join('\r\n')}\r\n`;
}
