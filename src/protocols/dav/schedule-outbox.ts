import ICAL from 'ical.js';
import type { AttendeeAvailability, AvailabilityService } from '../../calendar/federation/availability.ts';
import { IcsError, parseIcs } from '../../calendar/ics.ts';
import { icalUtc } from '../../calendar/range.ts';
import { foldLine, mailto } from '../../calendar/render.ts';
import { calendarUser } from '../../calendar/scheduling/itip.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import { DavError } from './errors.ts';
import { document, el, esc, href } from './multistatus.ts';
import { NS } from './names.ts';

/**
 * POST to the scheduling outbox (RFC 6638 §5): a VFREEBUSY REQUEST from the signed-in organizer is
 * answered with one `<C:response>` per attendee in a `<C:schedule-response>`. Attendees here are
 * read under their sharing rules; attendees of other domains are asked by their server on the
 * user's behalf with a signed assertion (src/calendar/federation/availability.ts), so their owner's
 * sharing rule decides. Each gets a REQUEST-STATUS (RFC 5546 §3.6) and, when known, a VFREEBUSY REPLY.
 */

const CONDITION = (name: string) => ({ ns: NS.caldav, name });

/** REQUEST-STATUS of an attendee whose free/busy is not known. */
function unknownStatus(a: Extract<AttendeeAvailability, { status: 'unknown' }>): string {
  switch (a.reason) {
    case 'invalid-address':
      return '3.7;Invalid calendar user';
    case 'not-shared':
      return '3.8;No authority';
    case 'not-discoverable':
    case 'federation-unavailable':
      return '5.3;No scheduling support for user';
    default:
      return '5.1;Service unavailable';
  }
}

/** The VFREEBUSY REPLY (RFC 5546 §3.3.2) of one attendee. */
function freeBusyReply(
  request: { uid: string; organizer: string; start: number; end: number },
  a: Extract<AttendeeAvailability, { status: 'known' }>,
  now: number,
): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Fingerpost//Scheduling//EN',
    'METHOD:REPLY',
    'BEGIN:VFREEBUSY',
    `UID:${request.uid}`,
    `DTSTAMP:${icalUtc(now)}`,
    `ORGANIZER:${mailto(request.organizer)}`,
    `ATTENDEE:${mailto(a.address)}`,
    `DTSTART:${icalUtc(request.start)}`,
    `DTEND:${icalUtc(request.end)}`,
    ...a.busy.map((p) => `FREEBUSY;FBTYPE=${p.type}:${icalUtc(p.start)}/${icalUtc(p.end)}`),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return `${lines.map(foldLine).join('\r\n')}\r\n`;
}

function instant(c: ICAL.Component, name: string): number | undefined {
  const v = c.getFirstPropertyValue(name);
  return v instanceof ICAL.Time ? v.toUnixTime() * 1000 : undefined;
}

/** Reads the POSTed VFREEBUSY request; throws DavError with the failed precondition (RFC 6638 §6.1.5). */
export function readFreeBusyRequest(
  user: DirectoryAccount,
  contentType: string,
  body: Buffer,
  limits: { maxBytes: number; maxRangeMs: number },
): { uid: string; organizer: string; attendees: string[]; start: number; end: number } {
  if (contentType.split(';')[0]!.trim().toLowerCase() !== 'text/calendar')
    throw new DavError(415, 'POST a text/calendar VFREEBUSY request', CONDITION('supported-calendar-data'));
  if (body.length > limits.maxBytes) throw new DavError(413, `the request is larger than ${limits.maxBytes} bytes`);
  let vcal: ICAL.Component;
  try {
    const parsed = parseIcs(new TextDecoder('utf-8', { fatal: true }).decode(body));
    if (parsed.calendars.length !== 1) throw new IcsError(undefined, 'send exactly one VCALENDAR');
    vcal = parsed.calendars[0]!;
  } catch (err) {
    const message = err instanceof IcsError && err.line !== undefined ? `line ${err.line}: ${err.message}` : (err as Error).message;
    throw new DavError(400, message, CONDITION('valid-calendar-data'));
  }
  const fb = vcal.getAllSubcomponents('vfreebusy');
  if (String(vcal.getFirstPropertyValue('method') ?? '').toUpperCase() !== 'REQUEST' || fb.length !== 1)
    throw new DavError(
      403,
      'the outbox answers a METHOD:REQUEST with one VFREEBUSY (events are scheduled by PUT)',
      CONDITION('valid-scheduling-message'),
    );
  const c = fb[0]!;
  const organizer = calendarUser(c.getFirstPropertyValue('organizer'));
  if (organizer !== user.address) throw new DavError(403, 'the ORGANIZER must be you', CONDITION('organizer-allowed'));
  const attendees = [...new Set(c.getAllProperties('attendee').map((p) => String(p.getFirstValue() ?? '')))].filter((a) => a !== '');
  if (!attendees.length) throw new DavError(403, 'name at least one ATTENDEE', CONDITION('recipient-specified'));
  const start = instant(c, 'dtstart');
  const end = instant(c, 'dtend');
  if (start === undefined || end === undefined || end <= start)
    throw new DavError(400, 'DTSTART and DTEND must give a range', CONDITION('valid-scheduling-message'));
  if (end - start > limits.maxRangeMs)
    throw new DavError(
      403,
      `the range is longer than ${Math.round(limits.maxRangeMs / 86_400_000)} days (calendar.max_range)`,
      CONDITION('valid-scheduling-message'),
    );
  return { uid: String(c.getFirstPropertyValue('uid') ?? ''), organizer, attendees, start, end };
}

/** The `<C:schedule-response>` for a VFREEBUSY request (RFC 6638 §10.1). */
export async function scheduleFreeBusy(
  user: DirectoryAccount,
  request: ReturnType<typeof readFreeBusyRequest>,
  availability: AvailabilityService,
  now: number,
): Promise<string> {
  // Calendar user addresses are mailto: URIs; anything else is not a user this server can ask about.
  const addresses = request.attendees.map((a) => calendarUser(a) ?? a);
  const answer = await availability.availability(user, addresses, { start: request.start, end: request.end });
  const byAddress = new Map(answer.attendees.map((a) => [a.address, a]));
  const responses = request.attendees.map((raw, i) => {
    const a = byAddress.get(addresses[i]!.trim().toLowerCase()) ?? byAddress.get(addresses[i]!.trim());
    const recipient = el(NS.caldav, 'recipient', href(raw));
    if (!a || a.status === 'unknown')
      return el(
        NS.caldav,
        'response',
        recipient + el(NS.caldav, 'request-status', esc(a ? unknownStatus(a) : '3.7;Invalid calendar user')),
      );
    return el(
      NS.caldav,
      'response',
      recipient + el(NS.caldav, 'request-status', '2.0;Success') + el(NS.caldav, 'calendar-data', esc(freeBusyReply(request, a, now))),
    );
  });
  return document(NS.caldav, 'schedule-response', responses.join(''));
}
