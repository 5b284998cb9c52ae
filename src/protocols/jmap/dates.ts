/**
 * JMAP dates (RFC 8620 §1.4): RFC 3339 `date-time` with upper-case `T` and `Z`, and no
 * fractional seconds when they are zero. `UTCDate` must end in `Z`.
 */

/** Formats epoch ms as a `UTCDate` (`2026-01-05T09:00:00Z`, milliseconds only when non-zero). */
export function utcDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Formats epoch ms in a fixed offset as a `Date` (RFC 3339 with offset); used for `sentAt`. */
export function offsetDate(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return utcDate(ms);
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 date-time (`utcOnly`: must end in `Z`); undefined when malformed or out of range. */
export function parseDate(value: unknown, utcOnly: boolean): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DATE_TIME_RE.exec(value);
  if (!m) return undefined;
  if (utcOnly && m[8] !== 'Z') return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls 2026-02-31 over to March; refuse dates that do not exist.
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return ms;
}

/** The UTC offset in minutes of a valid RFC 3339 date-time (`+05:30` → 330, `Z` → 0); undefined when malformed. */
export function dateOffset(value: unknown): number | undefined {
  if (parseDate(value, false) === undefined) return undefined;
  const zone = DATE_TIME_RE.exec(value as string)![8]!;
  if (zone === 'Z') return 0;
  const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
  return zone[0] === '-' ? -minutes : minutes;
}
