import { expandBusy } from '../../calendar/expand.ts';
import { mergeBusy } from '../../calendar/freebusy.ts';
import { loadObject } from '../../calendar/objects.ts';
import { objectMatches, outerRange } from '../../calendar/query.ts';
import { freeBusyIcs } from '../../calendar/render.ts';
import type { CalendarService } from '../../calendar/service.ts';
import type { Calendar, StoredObject } from '../../calendar/store.ts';
import { TimeSlice } from '../../core/time-slice.ts';
import { parseFilter, parseTimeRange } from './caldav-filter.ts';
import { DavError } from './errors.ts';
import { NS } from './names.ts';
import { child, type XmlElement } from './xml.ts';

/**
 * The calendar REPORTs that select objects (RFC 4791 §7.8 calendar-query, §7.10 free-busy-query):
 * the store narrows by the indexed span, then each candidate is parsed and tested, yielding to
 * other requests between batches so a large calendar never holds the event loop.
 */

/** How long objects are tested before other work gets a turn of the event loop. */
const SLICE_MS = 10;

/** Candidates read from the store per page (keyset paging by name). */
const PAGE = 500;

/** A parsed calendar-query (RFC 4791 §7.8): its filter, and the most results the client asked for (DAV:limit). */
export interface CalendarQuery {
  readonly filter: ReturnType<typeof parseFilter>;
  readonly nresults: number | undefined;
}

/** Reads a calendar-query body; a bad filter fails here, before any answer is sent. */
export function readCalendarQuery(body: XmlElement): CalendarQuery {
  const filter = parseFilter(child(body, NS.caldav, 'filter'));
  // RFC 5323 §5.17 DAV:limit, as CardDAV has it for addressbook-query (RFC 6352 §8.6.1).
  const n = Number.parseInt(child(child(body, NS.dav, 'limit'), NS.dav, 'nresults')?.text ?? '', 10);
  return { filter, nresults: Number.isSafeInteger(n) && n >= 0 ? n : undefined };
}

/**
 * The objects of `calendar` a calendar-query selects, in name order, read from the store a page
 * at a time and tested between turns of the event loop, so that memory stays bounded by a page
 * however many objects match and other requests go on meanwhile.
 */
export async function* calendarQuery(service: CalendarService, calendar: Calendar, query: CalendarQuery): AsyncGenerator<StoredObject> {
  const range = outerRange(query.filter);
  let after: string | undefined;
  const slice = new TimeSlice(SLICE_MS);
  for (;;) {
    const page = await service.store.queryCandidates(calendar.id, range, PAGE, after);
    for (const o of page) {
      if (slice.due()) await slice.turn();
      let ok = false;
      try {
        ok = objectMatches(loadObject(o.ics), query.filter, calendar.timezone, service.settings.maxInstances);
      } catch {
        // A stored object ical.js cannot expand is left out of the answer rather than failing it.
      }
      if (ok) yield o;
    }
    if (page.length < PAGE) return;
    after = page.at(-1)!.name;
  }
}

/** A VFREEBUSY of one calendar's busy time in the report's time-range (RFC 4791 §7.10). */
export async function freeBusyQuery(
  service: CalendarService,
  calendar: Calendar,
  owner: string,
  body: XmlElement,
  now: number,
): Promise<string> {
  const tr = child(body, NS.caldav, 'time-range');
  if (!tr) throw new DavError(400, 'free-busy-query needs a time-range');
  const range = parseTimeRange(tr);
  if (!Number.isFinite(range.start) || !Number.isFinite(range.end) || range.end - range.start > service.settings.maxRangeMs)
    throw new DavError(403, 'the time-range must have a start and an end within calendar.max_range', {
      ns: NS.caldav,
      name: 'valid-filter',
    });
  const candidates = await service.store.queryCandidates(calendar.id, range, 1_000_000);
  const instances = [];
  let truncated = false;
  const slice = new TimeSlice(SLICE_MS);
  for (const o of candidates) {
    if (slice.due()) await slice.turn();
    if (o.component !== 'VEVENT' && o.component !== 'VFREEBUSY') continue;
    try {
      const e = expandBusy(loadObject(o.ics), range, { zone: calendar.timezone, maxInstances: service.settings.maxInstances });
      instances.push(...e.instances);
      truncated ||= e.capped;
    } catch {
      // skipped like in free/busy of an account
    }
  }
  return freeBusyIcs({ account: owner, range, busy: mergeBusy(instances, range), truncated }, now);
}
