import { expandBusy } from '../../calendar/expand.ts';
import { mergeBusy } from '../../calendar/freebusy.ts';
import { loadObject } from '../../calendar/objects.ts';
import { objectMatches, outerRange } from '../../calendar/query.ts';
import { freeBusyIcs } from '../../calendar/render.ts';
import type { CalendarService } from '../../calendar/service.ts';
import type { Calendar, StoredObject } from '../../calendar/store.ts';
import { parseFilter, parseTimeRange } from './caldav-filter.ts';
import { DavError } from './errors.ts';
import { NS } from './names.ts';
import { child, type XmlElement } from './xml.ts';

/**
 * The calendar REPORTs that select objects (RFC 4791 §7.8 calendar-query, §7.10 free-busy-query):
 * the store narrows by the indexed span, then each candidate is parsed and tested, yielding to
 * other requests between batches so a large calendar never holds the event loop.
 */

/** How many objects are tested between two turns of the event loop. */
const BATCH = 100;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The objects of `calendar` a calendar-query selects, at most `limit` (507 beyond, RFC 4918 §11.5). */
export async function calendarQuery(
  service: CalendarService,
  calendar: Calendar,
  body: XmlElement,
  limit: number,
): Promise<StoredObject[]> {
  const filter = parseFilter(child(body, NS.caldav, 'filter'));
  const range = outerRange(filter);
  const candidates = await service.store.queryCandidates(calendar.id, range, limit * 4 + 1);
  if (candidates.length > limit * 4)
    throw new DavError(507, `the query matches more than ${limit} objects; narrow the time range`, {
      ns: NS.dav,
      name: 'number-of-matches-within-limits',
    });
  const out: StoredObject[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0 && i % BATCH === 0) await turn();
    const o = candidates[i]!;
    try {
      if (objectMatches(loadObject(o.ics), filter, calendar.timezone, service.settings.maxInstances)) out.push(o);
    } catch {
      // A stored object ical.js cannot expand is left out of the answer rather than failing it.
    }
    if (out.length > limit)
      throw new DavError(507, `the query matches more than ${limit} objects; narrow the time range`, {
        ns: NS.dav,
        name: 'number-of-matches-within-limits',
      });
  }
  return out;
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
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0 && i % BATCH === 0) await turn();
    const o = candidates[i]!;
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
