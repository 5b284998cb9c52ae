import { formatMailDate } from '../mime/date.ts';

/** The date-parts of the date and currentdate tests (RFC 5260 §4.2). */
export const DATE_PARTS = [
  'year',
  'month',
  'day',
  'date',
  'julian',
  'hour',
  'minute',
  'second',
  'time',
  'iso8601',
  'std11',
  'zone',
  'weekday',
] as const;

/** A zone as RFC 5260 §4.1 writes it (`+hhmm` / `-hhmm`) in minutes east of UTC, or undefined. */
export function zoneOffset(zone: string): number | undefined {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(zone);
  if (!m || Number(m[3]) > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** The zone of a Date: header value as minutes east of UTC (`+0000` when it names none we read). */
export function headerZone(value: string): number {
  return zoneOffset(/([+-]\d{4})\s*(?:\([^)]*\))?\s*$/.exec(value)?.[1] ?? '') ?? 0;
}

const two = (n: number) => String(n).padStart(2, '0');

/** One date-part of `ms` seen in the zone `offset` minutes east of UTC (RFC 5260 §4.2); undefined for an unknown part. */
export function datePart(ms: number, offset: number, part: string): string | undefined {
  const d = new Date(ms + offset * 60_000);
  const date = `${String(d.getUTCFullYear()).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  switch (part.toLowerCase()) {
    case 'year':
      return String(d.getUTCFullYear()).padStart(4, '0');
    case 'month':
      return two(d.getUTCMonth() + 1);
    case 'day':
      return two(d.getUTCDate());
    case 'date':
      return date;
    case 'julian':
      // Modified Julian Day: days since 1858-11-17 (RFC 5260 §4.2).
      return String(Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(1858, 10, 17)) / 86_400_000));
    case 'hour':
      return two(d.getUTCHours());
    case 'minute':
      return two(d.getUTCMinutes());
    case 'second':
      return two(d.getUTCSeconds());
    case 'time':
      return time;
    case 'iso8601':
      return `${date}T${time}${offset === 0 ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`}`;
    case 'std11':
      return formatMailDate(ms, offset);
    case 'zone':
      return zone;
    case 'weekday':
      return String(d.getUTCDay());
    default:
      return undefined;
  }
}
