/** IMAP dates (RFC 9051 §9 `date-time` for INTERNALDATE and APPEND, `date` for SEARCH). */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_INDEX = new Map(MONTHS.map((m, i) => [m.toLowerCase(), i]));
const DAY_MS = 86_400_000;

/** Does the day exist in that month (no 31-Feb, 29-Feb only in leap years)? */
function realDay(year: number, month: number, day: number): boolean {
  return day >= 1 && new Date(Date.UTC(year, month, day)).getUTCDate() === day;
}

/** Parses `dd-Mon-yyyy hh:mm:ss +zzzz` (day may be space-padded) into epoch ms, or null. */
export function parseDateTime(s: string): number | null {
  const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const month = MONTH_INDEX.get(m[2]!.toLowerCase());
  const day = Number(m[1]!.trim());
  const [h, mi, sec] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (month === undefined || !realDay(Number(m[3]), month, day) || h > 23 || mi > 59 || sec > 60) return null;
  const zone = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  const t = Date.UTC(Number(m[3]), month, day, h, mi, Math.min(sec, 59)) - zone * 60_000;
  return Number.isFinite(t) ? t : null;
}

/** Parses a SEARCH `date` (`1-Feb-1994`) into a day number (days since 1970-01-01), or null. */
export function parseSearchDate(s: string): number | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const month = MONTH_INDEX.get(m[2]!.toLowerCase());
  const day = Number(m[1]);
  if (month === undefined || !realDay(Number(m[3]), month, day)) return null;
  return Math.floor(Date.UTC(Number(m[3]), month, day) / DAY_MS);
}

/** The UTC day number of an epoch-ms time (SEARCH compares dates without time, RFC 9051 §6.4.4). */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Formats epoch ms as an INTERNALDATE `date-time` in UTC: `02-Nov-2026 09:00:00 +0000`. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${pad(d.getUTCFullYear(), 4)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
