import ICAL from 'ical.js';
import { FingerpostError } from '../core/errors.ts';

/**
 * Strict reading of iCalendar text (RFC 5545 §3.1 content lines, §3.6 components, §3.3 value
 * types) that names the offending line, before ical.js builds its component tree. Nothing is
 * stored unless the whole text passes.
 */

/** A malformed iCalendar text; `line` is the 1-based physical line of the problem. */
export class IcsError extends FingerpostError {
  readonly line: number | undefined;
  constructor(line: number | undefined, problem: string) {
    super('invalid_argument', line === undefined ? `invalid iCalendar: ${problem}` : `invalid iCalendar at line ${line}: ${problem}`, {
      context: { line },
      hint: 'fix the iCalendar data (RFC 5545) and try again; nothing was stored',
    });
    this.line = line;
  }
}

/** One unfolded content line (§3.1) with the physical line it starts on. */
export interface ContentLine {
  readonly line: number;
  /** The unfolded line as written. */
  readonly text: string;
  readonly name: string;
  readonly params: ReadonlyMap<string, string>;
  readonly value: string;
}

/** A component as written, with the line of its BEGIN, for messages that point at it. */
export interface RawComponent {
  readonly name: string;
  readonly line: number;
  readonly props: ContentLine[];
  readonly children: RawComponent[];
}

const NAME = /^[A-Za-z0-9-]+$/;
// RFC 5545 §3.1 forbids control characters except HTAB in values.
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const MAX_DEPTH = 8;

/** Splits `NAME;P=V;Q="x":value` at the first colon outside quotes (§3.1). */
function splitContentLine(text: string, line: number): ContentLine {
  let i = 0;
  while (i < text.length && text[i] !== ';' && text[i] !== ':') i++;
  const name = text.slice(0, i);
  if (!name || !NAME.test(name)) throw new IcsError(line, `"${preview(text)}" is not a content line (NAME[;PARAM=VALUE]:VALUE)`);
  const params = new Map<string, string>();
  while (text[i] === ';') {
    i++;
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new IcsError(line, `parameter without "=" in ${name}`);
    const pname = text.slice(i, eq);
    if (!NAME.test(pname)) throw new IcsError(line, `bad parameter name "${preview(pname)}" in ${name}`);
    i = eq + 1;
    const values: string[] = [];
    for (;;) {
      if (text[i] === '"') {
        const close = text.indexOf('"', i + 1);
        if (close < 0) throw new IcsError(line, `unterminated quoted value of parameter ${pname}`);
        values.push(text.slice(i + 1, close));
        i = close + 1;
      } else {
        let j = i;
        while (j < text.length && text[j] !== ';' && text[j] !== ':' && text[j] !== ',') j++;
        values.push(text.slice(i, j));
        i = j;
      }
      if (text[i] === ',') i++;
      else break;
    }
    params.set(pname.toUpperCase(), values.join(','));
  }
  if (text[i] !== ':') throw new IcsError(line, `missing ":" after ${name} and its parameters`);
  const value = text.slice(i + 1);
  if (CTL.test(value)) throw new IcsError(line, `control character in the value of ${name}`);
  return { line, text, name: name.toUpperCase(), params, value };
}

function preview(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Unfolds lines (CRLF or LF followed by a space or tab) and tokenizes them, keeping line numbers. */
export function contentLines(text: string): ContentLine[] {
  const physical = text.split(/\r\n|\n|\r/);
  const logical: Array<{ line: number; text: string }> = [];
  for (let n = 0; n < physical.length; n++) {
    const raw = physical[n]!;
    if (raw.startsWith(' ') || raw.startsWith('\t')) {
      const last = logical.at(-1);
      if (!last) throw new IcsError(n + 1, 'a continuation line with nothing before it');
      last.text += raw.slice(1);
    } else if (raw.trim() !== '') {
      logical.push({ line: n + 1, text: raw });
    }
  }
  return logical.map((l) => splitContentLine(l.line === 1 ? l.text.replace(/^\uFEFF/, '') : l.text, l.line));
}

/** Builds the BEGIN/END tree (§3.4, §3.6), refusing unbalanced or stray lines. */
export function componentTree(lines: readonly ContentLine[]): RawComponent[] {
  const roots: RawComponent[] = [];
  const stack: RawComponent[] = [];
  for (const l of lines) {
    if (l.name === 'BEGIN') {
      const name = l.value.trim().toUpperCase();
      if (!NAME.test(name)) throw new IcsError(l.line, `BEGIN needs a component name, got "${preview(l.value)}"`);
      if (stack.length >= MAX_DEPTH) throw new IcsError(l.line, 'components nested too deeply');
      if (stack.length === 0 && name !== 'VCALENDAR') throw new IcsError(l.line, `expected BEGIN:VCALENDAR, got BEGIN:${name}`);
      const c: RawComponent = { name, line: l.line, props: [], children: [] };
      (stack.at(-1)?.children ?? roots).push(c);
      stack.push(c);
    } else if (l.name === 'END') {
      const name = l.value.trim().toUpperCase();
      const open = stack.pop();
      if (!open) throw new IcsError(l.line, `END:${name} without a matching BEGIN`);
      if (open.name !== name) throw new IcsError(l.line, `END:${name} closes BEGIN:${open.name} from line ${open.line}`);
    } else {
      const open = stack.at(-1);
      if (!open) throw new IcsError(l.line, `${l.name} outside BEGIN:VCALENDAR … END:VCALENDAR`);
      open.props.push(l);
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed) throw new IcsError(unclosed.line, `BEGIN:${unclosed.name} is never closed with END:${unclosed.name}`);
  if (roots.length === 0) throw new IcsError(undefined, 'no VCALENDAR component');
  return roots;
}

const DATE = /^(\d{4})(\d{2})(\d{2})$/;
const DATE_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/;
const DURATION = /^[+-]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$/;
const UTC_OFFSET = /^[+-]\d{4}(\d{2})?$/;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function checkDate(value: string): boolean {
  const m = DATE.exec(value);
  return !!m && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

function checkDateTime(value: string, utcOnly = false): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  if (utcOnly && m[7] !== 'Z') return false;
  return validDate(Number(m[1]), Number(m[2]), Number(m[3])) && Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6]) <= 60;
}

function checkDuration(value: string): boolean {
  return DURATION.test(value) && value !== 'P' && !value.endsWith('T');
}

function checkPeriod(value: string, utcOnly: boolean): boolean {
  const [start, end, extra] = value.split('/');
  if (start === undefined || end === undefined || extra !== undefined) return false;
  if (!checkDateTime(start, utcOnly)) return false;
  return end.startsWith('P') || end.startsWith('+P')
    ? checkDuration(end) && !end.startsWith('-')
    : checkDateTime(end, utcOnly) && end > start;
}

function checkRecur(value: string): string | undefined {
  const parts = new Map<string, string>();
  for (const part of value.split(';')) {
    const [k, v, extra] = part.split('=');
    if (!k || v === undefined || extra !== undefined || v === '') return `"${preview(part)}" is not NAME=VALUE`;
    if (parts.has(k.toUpperCase())) return `${k} appears twice`;
    parts.set(k.toUpperCase(), v);
  }
  if (!parts.has('FREQ')) return 'FREQ is required';
  if (parts.has('COUNT') && parts.has('UNTIL')) return 'COUNT and UNTIL must not both appear';
  for (const k of ['COUNT', 'INTERVAL']) {
    const v = parts.get(k);
    if (v !== undefined && (!/^\d{1,9}$/.test(v) || Number(v) < 1)) return `${k} must be a positive integer`;
  }
  const until = parts.get('UNTIL');
  if (until !== undefined && !checkDate(until) && !checkDateTime(until)) return `UNTIL=${until} is not a date or date-time`;
  try {
    ICAL.Recur.fromString(value);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** BY parts a time zone observance rule may use, and how many values each may list. */
const OBSERVANCE_BY: ReadonlyMap<string, number> = new Map([
  ['BYMONTH', 1],
  ['BYDAY', 1],
  ['BYMONTHDAY', 7],
]);

/**
 * Why a STANDARD/DAYLIGHT RRULE is refused, if it is: a zone changes its offset a few times a
 * year (RFC 5545 §3.6.5 and every published zone: FREQ=YEARLY in one month), and ical.js expands
 * observance rules from their DTSTART to every year it converts, so a FREQ=MINUTELY "time zone"
 * would hold the server for minutes on every conversion.
 */
function observanceRuleProblem(value: string): string | undefined {
  const parts = new Map(value.split(';').map((part) => part.split('=') as [string, string]));
  const upper = new Map([...parts].map(([k, v]) => [k.toUpperCase(), v ?? '']));
  if (upper.get('FREQ')?.toUpperCase() !== 'YEARLY') return 'must be FREQ=YEARLY (a time zone changes its offset once a year per rule)';
  for (const [k, v] of upper) {
    if (!k.startsWith('BY')) continue;
    const max = OBSERVANCE_BY.get(k);
    if (max === undefined) return `must not use ${k} (only BYMONTH, BYDAY and BYMONTHDAY)`;
    if (v.split(',').length > max) return `lists more than ${max} ${k} value${max > 1 ? 's' : ''}`;
  }
  if ((upper.has('BYDAY') || upper.has('BYMONTHDAY')) && !upper.has('BYMONTH')) return 'needs BYMONTH with BYDAY or BYMONTHDAY';
  return undefined;
}

/** Value type checks for the properties free/busy and recurrence depend on (§3.3, §3.8). */
function checkValue(p: ContentLine, inComponent: string): void {
  const valueType = p.params.get('VALUE')?.toUpperCase();
  const fail = (what: string) => {
    throw new IcsError(p.line, `${p.name} value "${preview(p.value)}" is not ${what}`);
  };
  switch (p.name) {
    case 'DTSTART':
    case 'DTEND':
    case 'DUE':
    case 'RECURRENCE-ID':
      if (inComponent === 'STANDARD' || inComponent === 'DAYLIGHT') {
        if (!checkDateTime(p.value)) fail('a local date-time');
      } else if (valueType === 'DATE' ? !checkDate(p.value) : !checkDateTime(p.value)) {
        fail(valueType === 'DATE' ? 'a date (YYYYMMDD)' : 'a date-time (YYYYMMDDTHHMMSS[Z])');
      }
      break;
    case 'DTSTAMP':
    case 'CREATED':
    case 'LAST-MODIFIED':
      if (!checkDateTime(p.value)) fail('a date-time');
      break;
    case 'EXDATE':
    case 'RDATE':
      for (const v of p.value.split(',')) {
        const ok = valueType === 'DATE' ? checkDate(v) : valueType === 'PERIOD' ? checkPeriod(v, false) : checkDateTime(v);
        if (!ok) fail(valueType === 'DATE' ? 'a list of dates' : valueType === 'PERIOD' ? 'a list of periods' : 'a list of date-times');
      }
      break;
    case 'DURATION':
      if (!checkDuration(p.value) || p.value.startsWith('-')) fail('a positive duration (e.g. PT1H30M)');
      break;
    case 'RRULE':
    case 'EXRULE': {
      const problem = checkRecur(p.value);
      if (problem) throw new IcsError(p.line, `${p.name} is invalid: ${problem}`);
      break;
    }
    case 'FREEBUSY':
      for (const v of p.value.split(',')) if (!checkPeriod(v, true)) fail('a list of UTC periods (start/end or start/duration)');
      break;
    case 'TZOFFSETFROM':
    case 'TZOFFSETTO':
      if (!UTC_OFFSET.test(p.value)) fail('a UTC offset (+HHMM)');
      break;
  }
}

const SCHEDULABLE = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']);

function one(c: RawComponent, name: string): ContentLine | undefined {
  const found = c.props.filter((p) => p.name === name);
  if (found.length > 1) throw new IcsError(found[1]!.line, `${c.name} (line ${c.line}) has ${name} more than once`);
  return found[0];
}

function isDateValued(p: ContentLine): boolean {
  return p.params.get('VALUE')?.toUpperCase() === 'DATE';
}

/** Component-level rules (§3.6.1–§3.6.5) that make the data usable for free/busy. */
function checkComponent(c: RawComponent, parent: string): void {
  for (const p of c.props) checkValue(p, c.name);
  if (SCHEDULABLE.has(c.name)) {
    const uid = one(c, 'UID');
    if (!uid || uid.value.trim() === '') throw new IcsError(c.line, `${c.name} has no UID`);
    one(c, 'RECURRENCE-ID');
    one(c, 'STATUS');
    one(c, 'TRANSP');
  }
  if (c.name === 'VEVENT' || c.name === 'VTODO') {
    const start = one(c, 'DTSTART');
    const end = one(c, c.name === 'VEVENT' ? 'DTEND' : 'DUE');
    const duration = one(c, 'DURATION');
    if (c.name === 'VEVENT' && !start) throw new IcsError(c.line, 'VEVENT has no DTSTART');
    if (end && duration) throw new IcsError(duration.line, `${end.name} and DURATION must not both appear`);
    if (start && end) {
      if (isDateValued(start) !== isDateValued(end)) throw new IcsError(end.line, `${end.name} must have the same value type as DTSTART`);
      const sameZone =
        (start.params.get('TZID') ?? '') === (end.params.get('TZID') ?? '') && start.value.endsWith('Z') === end.value.endsWith('Z');
      if (sameZone && end.value < start.value) throw new IcsError(end.line, `${end.name} is before DTSTART`);
    }
    if (start && duration && isDateValued(start) && /T/.test(duration.value))
      throw new IcsError(duration.line, 'an all-day DTSTART needs a DURATION in days or weeks');
    if (c.props.filter((p) => p.name === 'RRULE').length > 1)
      throw new IcsError(c.props.filter((p) => p.name === 'RRULE')[1]!.line, 'more than one RRULE');
  }
  if (c.name === 'VTIMEZONE') {
    if (!one(c, 'TZID')) throw new IcsError(c.line, 'VTIMEZONE has no TZID');
    if (!c.children.some((s) => s.name === 'STANDARD' || s.name === 'DAYLIGHT'))
      throw new IcsError(c.line, 'VTIMEZONE has no STANDARD or DAYLIGHT');
  }
  if (c.name === 'STANDARD' || c.name === 'DAYLIGHT') {
    if (parent !== 'VTIMEZONE') throw new IcsError(c.line, `${c.name} outside VTIMEZONE`);
    for (const req of ['DTSTART', 'TZOFFSETFROM', 'TZOFFSETTO']) if (!one(c, req)) throw new IcsError(c.line, `${c.name} has no ${req}`);
    for (const rule of c.props.filter((p) => p.name === 'RRULE')) {
      const problem = observanceRuleProblem(rule.value);
      if (problem) throw new IcsError(rule.line, `${c.name} RRULE ${problem}`);
    }
  }
  if (parent === 'VCALENDAR' && c.name === 'VCALENDAR') throw new IcsError(c.line, 'VCALENDAR inside VCALENDAR');
  for (const child of c.children) checkComponent(child, c.name);
}

/** Text that passed every check, as ical.js components (one per VCALENDAR). */
export interface ParsedIcs {
  readonly calendars: ICAL.Component[];
  readonly raw: RawComponent[];
}

/**
 * Parses iCalendar text strictly: content-line syntax, balanced components, value types of the
 * date, recurrence and free/busy properties, UIDs. Throws `IcsError` naming the line.
 */
export function parseIcs(text: string): ParsedIcs {
  const lines = contentLines(text);
  const raw = componentTree(lines);
  for (const cal of raw) checkComponent(cal, '');
  // Hand ical.js exactly the unfolded lines that were checked, one VCALENDAR at a time.
  const calendars: ICAL.Component[] = [];
  let depth = 0;
  let chunk: string[] = [];
  let index = 0;
  for (const l of lines) {
    if (l.name === 'BEGIN') depth++;
    chunk.push(l.text);
    if (l.name === 'END' && --depth === 0) {
      const begin = raw[index++]!;
      try {
        calendars.push(new ICAL.Component(ICAL.parse(chunk.join('\r\n')) as unknown as unknown[]));
      } catch (err) {
        throw new IcsError(begin.line, `cannot be read: ${(err as Error).message}`);
      }
      chunk = [];
    }
  }
  return { calendars, raw };
}
