/**
 * Local wall-clock time → UTC for IANA time zones, using the zone data Node ships (Intl). Used for
 * TZIDs a file references without a VTIMEZONE, floating times and all-day events (RFC 5545
 * §3.3.5: floating times are read in the calendar's zone).
 */

/** A wall-clock time with no zone attached. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      f = null;
    }
    formatters.set(zone, f);
  }
  return f;
}

/** Whether Node knows the IANA zone `zone` (`Europe/Berlin`, `UTC`). */
export function isKnownZone(zone: string): boolean {
  return formatter(zone) !== null;
}

/** Common prefixes some generators put before IANA names (Lightning, old Evolution). */
const ZONE_PREFIXES = [
  /^\/mozilla\.org\/[^/]+\//,
  /^\/freeassociation\.sourceforge\.net\/(Tzfile\/)?/,
  /^\/softwarestudio\.org\/[^/]+\/[^/]+\//,
];

/** Maps a TZID to an IANA zone Node knows, or undefined (Windows names, custom ids). */
export function ianaZone(tzid: string): string | undefined {
  if (isKnownZone(tzid)) return tzid;
  for (const prefix of ZONE_PREFIXES) {
    const stripped = tzid.replace(prefix, '');
    if (stripped !== tzid && isKnownZone(stripped)) return stripped;
  }
  return undefined;
}

const offsetCache = new Map<string, Map<number, number>>();
const HOUR = 3_600_000;

/** The zone's UTC offset in ms at instant `utc` (cached per zone and hour; transitions fall on quarter hours at most). */
export function zoneOffset(zone: string, utc: number): number {
  const f = formatter(zone);
  if (!f) throw new Error(`unknown time zone ${zone}`);
  // Offsets change on whole quarter hours; cache per 15 minutes.
  const bucket = Math.floor(utc / (HOUR / 4));
  let cache = offsetCache.get(zone);
  if (!cache) {
    cache = new Map();
    offsetCache.set(zone, cache);
  }
  const hit = cache.get(bucket);
  if (hit !== undefined) return hit;
  const at = bucket * (HOUR / 4);
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const offset = asUtc - at;
  if (cache.size > 200_000) cache.clear();
  cache.set(bucket, offset);
  return offset;
}

/**
 * The UTC instant of a wall-clock time in `zone`. In a spring-forward gap the offset before the
 * gap applies (RFC 5545 §3.3.5: 02:30 that does not exist means 03:30); in a fall-back overlap
 * the first (earlier) instant is chosen.
 */
export function wallToUtc(wall: WallTime, zone: string): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  if (zone === 'UTC' || zone === 'Etc/UTC') return naive;
  // The offsets around the instant: before and after any transition within a day.
  const before = zoneOffset(zone, naive - 24 * HOUR);
  const after = zoneOffset(zone, naive + 24 * HOUR);
  const candidates = before === after ? [before] : [before, after];
  const valid = candidates.map((off) => naive - off).filter((utc) => zoneOffset(zone, utc) === naive - utc);
  if (valid.length > 0) return Math.min(...valid);
  // A gap: the time does not exist; read it with the offset in force before the gap.
  return naive - before;
}

/** The wall-clock fields of a UTC instant in `zone`. */
export function utcToWall(utc: number, zone: string): WallTime {
  const d = new Date(utc + zoneOffset(zone, utc));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}
