/**
 * RFC 5322 §3.3 date-time parsing and formatting. Parsing takes the obsolete forms of §4.3
 * (two-digit years, named zones, missing seconds) and the sloppiness real mail has (missing day
 * name, extra text, ISO dates).
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** Obsolete zone names (RFC 5322 §4.3), in minutes east of UTC. Military zones are treated as UTC. */
const ZONES: Readonly<Record<string, number>> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

const RFC5322 = /(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{2,4})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*([+-]\d{4}|[a-z]{1,5})?/i;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?/i;

function zoneMinutes(zone: string | undefined): number {
  if (!zone) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (m) {
    const minutes = Number(m[2]) * 60 + Number(m[3]);
    return m[1] === '-' ? -minutes : minutes;
  }
  return ZONES[zone.toLowerCase()] ?? 0;
}

function build(year: number, month: number, day: number, h: number, mi: number, s: number, zone: string | undefined): number | null {
  if (month < 0 || month > 11 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return null;
  const t = Date.UTC(year, month, day, h, mi, Math.min(s, 59)) - zoneMinutes(zone) * 60_000;
  return Number.isFinite(t) ? t : null;
}

/** Parses a `Date:` header value into epoch ms, or null when it is not a date. */
export function parseMailDate(value: string | null): number | null {
  if (!value) return null;
  const m = RFC5322.exec(value);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    if (month === undefined) return null;
    let year = Number(m[3]);
    // RFC 5322 §4.3: two-digit years below 50 are 20xx, others 19xx; three digits add 1900.
    if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3]!.length === 3) year += 1900;
    return build(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), m[7]);
  }
  const iso = ISO.exec(value.trim());
  if (iso) {
    return build(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3]), Number(iso[4]), Number(iso[5]), Number(iso[6] ?? 0), iso[7]);
  }
  return null;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Formats epoch ms as an RFC 5322 §3.3 `date-time` in the zone `offsetMinutes` east of UTC
 * (`Fri, 2 Jan 2026 15:30:00 +0530`); fractions of a second are dropped, as the syntax has none.
 */
export function formatMailDate(ms: number, offsetMinutes = 0): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
  const two = (n: number) => String(n).padStart(2, '0');
  const abs = Math.abs(offsetMinutes);
  const zone = `${offsetMinutes < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${zone}`
  );
}

/**
 * The calendar day a `Date:` header names as written, as days since 1970-01-01, ignoring its time
 * and zone (IMAP SENTON/SENTBEFORE/SENTSINCE, RFC 9051 §6.4.4), or null when it is not a date.
 */
export function mailDateDay(value: string | null): number | null {
  if (!value) return null;
  let year: number;
  let month: number | undefined;
  let day: number;
  const m = RFC5322.exec(value);
  const iso = m ? null : ISO.exec(value.trim());
  if (m) {
    month = MONTHS[m[2]!.toLowerCase()];
    year = Number(m[3]);
    if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3]!.length === 3) year += 1900;
    day = Number(m[1]);
  } else if (iso) {
    year = Number(iso[1]);
    month = Number(iso[2]) - 1;
    day = Number(iso[3]);
  } else return null;
  if (month === undefined || month < 0 || month > 11 || day < 1 || day > 31) return null;
  const t = Date.UTC(year, month, day);
  return Number.isFinite(t) ? Math.floor(t / 86_400_000) : null;
}
