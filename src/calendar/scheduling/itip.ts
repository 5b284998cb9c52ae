import ICAL from 'ical.js';
import { tryParseAddress } from '../../core/address.ts';

/**
 * iTIP (RFC 5546) for scheduling object resources (RFC 6638 §3.1): who organizes and who attends
 * an event, the REQUEST, CANCEL and REPLY messages derived from a stored object, and applying a
 * delivered message to a recipient's own copy.
 */

/** iTIP methods this server sends and applies (RFC 5546 §3.2). */
export type ItipMethod = 'REQUEST' | 'CANCEL' | 'REPLY';

/** One ATTENDEE: its address, PARTSTAT (RFC 5545 §3.2.12) and whether the server schedules it (RFC 6638 §7.1). */
export interface Attendee {
  readonly address: string;
  readonly partstat: string;
  readonly byServer: boolean;
}

/** The scheduling facts of an object: undefined organizer when it is no scheduling object. */
export interface SchedulingInfo {
  readonly uid: string;
  readonly organizer: string | undefined;
  readonly attendees: readonly Attendee[];
  readonly summary: string;
  readonly start: string;
}

const COMPONENTS = ['vevent', 'vtodo'];
/** ATTENDEE/ORGANIZER parameters that only mean something to the server holding the object (RFC 6638 §7). */
const SERVER_PARAMS = ['schedule-status', 'schedule-agent', 'schedule-force-send'];

/** The lower-cased address of a `mailto:` calendar user address, else undefined. */
export function calendarUser(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^mailto:/i.test(value.trim())) return undefined;
  let address: string;
  try {
    address = decodeURIComponent(value.trim().slice(7));
  } catch {
    return undefined;
  }
  return tryParseAddress(address)?.normalized;
}

/** The scheduling components (VEVENT/VTODO master and overrides) of a VCALENDAR. */
export function schedulingComponents(vcal: ICAL.Component): ICAL.Component[] {
  return vcal.getAllSubcomponents().filter((c) => COMPONENTS.includes(c.name));
}

function master(vcal: ICAL.Component): ICAL.Component | undefined {
  const parts = schedulingComponents(vcal);
  return parts.find((c) => !c.hasProperty('recurrence-id')) ?? parts[0];
}

function param(p: ICAL.Property, name: string): string | undefined {
  const v = p.getParameter(name);
  return typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;
}

/** Organizer and attendees of the master component (RFC 6638 §3.1). */
export function schedulingInfo(vcal: ICAL.Component): SchedulingInfo | undefined {
  const m = master(vcal);
  if (!m) return undefined;
  const organizer = calendarUser(m.getFirstPropertyValue('organizer'));
  const attendees = new Map<string, Attendee>();
  for (const p of m.getAllProperties('attendee')) {
    const address = calendarUser(p.getFirstValue());
    if (!address || attendees.has(address)) continue;
    const agent = (param(p, 'schedule-agent') ?? 'SERVER').toUpperCase();
    attendees.set(address, { address, partstat: (param(p, 'partstat') ?? 'NEEDS-ACTION').toUpperCase(), byServer: agent === 'SERVER' });
  }
  return {
    uid: String(m.getFirstPropertyValue('uid') ?? ''),
    organizer,
    attendees: [...attendees.values()],
    summary: String(m.getFirstPropertyValue('summary') ?? ''),
    start: String(m.getFirstProperty('dtstart')?.toICALString() ?? ''),
  };
}

function clone(vcal: ICAL.Component): ICAL.Component {
  return new ICAL.Component(structuredClone(vcal.toJSON()) as unknown as unknown[]);
}

function stripServerParams(c: ICAL.Component): void {
  for (const p of [...c.getAllProperties('attendee'), ...c.getAllProperties('organizer')])
    for (const name of SERVER_PARAMS) p.removeParameter(name);
}

function withMethod(vcal: ICAL.Component, method: ItipMethod | undefined): ICAL.Component {
  vcal.removeAllProperties('method');
  if (method) vcal.addPropertyWithValue('method', method);
  return vcal;
}

/**
 * The REQUEST or CANCEL (RFC 5546 §3.2.2, §3.2.5) an organizer's object sends: the whole object
 * without server-only parameters and alarms; a CANCEL marks every component CANCELLED.
 */
export function organizerMessage(vcal: ICAL.Component, method: 'REQUEST' | 'CANCEL'): ICAL.Component {
  const out = withMethod(clone(vcal), method);
  for (const c of schedulingComponents(out)) {
    stripServerParams(c);
    for (const a of c.getAllSubcomponents('valarm')) c.removeSubcomponent(a);
    if (method === 'CANCEL') c.updatePropertyWithValue('status', 'CANCELLED');
  }
  return out;
}

/** The REPLY (RFC 5546 §3.2.3) of `attendee` to the organizer: each component with only that ATTENDEE. */
export function replyMessage(vcal: ICAL.Component, attendee: string, partstat?: string): ICAL.Component {
  const out = withMethod(clone(vcal), 'REPLY');
  for (const c of schedulingComponents(out)) {
    for (const a of c.getAllSubcomponents('valarm')) c.removeSubcomponent(a);
    for (const p of c.getAllProperties('attendee')) {
      if (calendarUser(p.getFirstValue()) !== attendee) c.removeProperty(p);
      else if (partstat) p.setParameter('partstat', partstat);
    }
    stripServerParams(c);
  }
  return out;
}

/** Sets SCHEDULE-STATUS (RFC 6638 §7.3) on the ATTENDEEs of every component that a status names. */
export function markAttendees(vcal: ICAL.Component, statuses: ReadonlyMap<string, string>): void {
  for (const c of schedulingComponents(vcal))
    for (const p of c.getAllProperties('attendee')) {
      const status = statuses.get(calendarUser(p.getFirstValue()) ?? '');
      if (status) p.setParameter('schedule-status', status);
    }
}

/**
 * What the server compares to decide whether an organizer's change needs new REQUESTs and a new
 * Schedule-Tag (RFC 6638 §3.2.10): the object without DTSTAMP, SEQUENCE, alarms and the
 * attendees' own answers.
 */
export function significant(vcal: ICAL.Component): string {
  const c = clone(vcal);
  c.removeAllProperties('method');
  for (const part of schedulingComponents(c)) {
    for (const name of ['dtstamp', 'sequence', 'last-modified']) part.removeAllProperties(name);
    for (const a of part.getAllSubcomponents('valarm')) part.removeSubcomponent(a);
    stripServerParams(part);
    for (const p of part.getAllProperties('attendee')) for (const name of ['partstat', 'rsvp']) p.removeParameter(name);
  }
  return c.toString();
}

/** The PARTSTAT `attendee` holds in `vcal` (master component). */
export function partstatOf(vcal: ICAL.Component, attendee: string): string | undefined {
  return schedulingInfo(vcal)?.attendees.find((a) => a.address === attendee)?.partstat;
}

/**
 * An attendee's copy from a delivered REQUEST (RFC 6638 §4.1): the organizer's object without
 * METHOD, keeping the attendee's own answer from `previous` when the organizer did not raise SEQUENCE.
 */
export function attendeeCopy(request: ICAL.Component, attendee: string, previous: ICAL.Component | undefined): ICAL.Component {
  const out = withMethod(clone(request), undefined);
  const keep = previous ? partstatOf(previous, attendee) : undefined;
  const seq = (v: ICAL.Component | undefined) => Number(v && master(v)?.getFirstPropertyValue('sequence')) || 0;
  if (keep && keep !== 'NEEDS-ACTION' && previous && seq(request) <= seq(previous))
    for (const c of schedulingComponents(out))
      for (const p of c.getAllProperties('attendee')) if (calendarUser(p.getFirstValue()) === attendee) p.setParameter('partstat', keep);
  return out;
}

/** An attendee's copy after a CANCEL: every component CANCELLED (RFC 5546 §3.2.5). */
export function cancelledCopy(current: ICAL.Component): ICAL.Component {
  const out = withMethod(clone(current), undefined);
  for (const c of schedulingComponents(out)) c.updatePropertyWithValue('status', 'CANCELLED');
  return out;
}

/**
 * The organizer's copy after a REPLY (RFC 5546 §3.2.3): the replying ATTENDEE's PARTSTAT copied
 * into the matching components (by RECURRENCE-ID), with SCHEDULE-STATUS 2.0. Undefined when the
 * reply names no attendee of the object (a reply from a stranger is not applied).
 */
export function applyReply(organizerCopy: ICAL.Component, reply: ICAL.Component, attendee: string): ICAL.Component | undefined {
  const out = clone(organizerCopy);
  const rid = (c: ICAL.Component) => String(c.getFirstProperty('recurrence-id')?.toICALString() ?? '');
  const targets = new Map(schedulingComponents(out).map((c) => [rid(c), c]));
  let applied = false;
  for (const r of schedulingComponents(reply)) {
    const answer = r.getAllProperties('attendee').find((p) => calendarUser(p.getFirstValue()) === attendee);
    const target = targets.get(rid(r));
    if (!answer || !target) continue;
    for (const p of target.getAllProperties('attendee'))
      if (calendarUser(p.getFirstValue()) === attendee) {
        p.setParameter('partstat', (param(answer, 'partstat') ?? 'NEEDS-ACTION').toUpperCase());
        p.setParameter('schedule-status', '2.0');
        applied = true;
      }
  }
  return applied ? out : undefined;
}

/** iCalendar text of a component with CRLF line ends (RFC 5545 §3.1). */
export function icsText(vcal: ICAL.Component): string {
  return `${vcal.toString().replace(/\r?\n/g, '\r\n')}\r\n`;
}
