import type { CalendarShares, ShareAccess } from '../../calendar/shares.ts';
import type { Calendar } from '../../calendar/store.ts';
import { isFingerpostError } from '../../core/errors.ts';
import { DavError } from './errors.ts';
import { NS } from './names.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';

/**
 * The calendarserver sharing request (the `CS:share` POST body Apple Calendar and Evolution send
 * to a calendar collection): `CS:set` adds or changes a sharee with `CS:read` or `CS:read-write`,
 * `CS:remove` ends a share. Sharees are named by `mailto:` hrefs and must be accounts of the
 * owner's domain.
 */

/** The most set/remove entries one request may carry. */
const MAX_ENTRIES = 100;

function addressOf(entry: XmlElement): string {
  const h = child(entry, NS.dav, 'href')?.text.trim() ?? '';
  const address = h.replace(/^mailto:/i, '');
  if (!address.includes('@') || address.length > 320) throw new DavError(400, 'each sharee is a DAV:href with a mailto: address');
  return address.toLowerCase();
}

/** Applies a `CS:share` request to `calendar` (the user's own). */
export async function applyShareRequest(shares: CalendarShares, calendar: Calendar, body: XmlElement): Promise<void> {
  if (body.ns !== NS.cs || body.name !== 'share') throw new DavError(400, 'expected a CS:share body');
  if (calendar.shared || calendar.subscription || calendar.kind !== 'calendar')
    throw new DavError(403, 'only your own calendars can be shared', { ns: NS.dav, name: 'need-privileges' });
  const sets = childrenOf(body, NS.cs, 'set');
  const removes = childrenOf(body, NS.cs, 'remove');
  if (sets.length + removes.length > MAX_ENTRIES) throw new DavError(403, `at most ${MAX_ENTRIES} sharees per request`);
  const plan = [
    ...sets.map((s) => ({ address: addressOf(s), access: (child(s, NS.cs, 'read-write') ? 'read-write' : 'read') as ShareAccess })),
    ...removes.map((r) => ({ address: addressOf(r), access: undefined })),
  ];
  for (const { address, access } of plan) {
    try {
      if (access) await shares.share(calendar, address, access);
      else await shares.unshare(calendar.id, address);
    } catch (err) {
      if (isFingerpostError(err, 'not_found') || isFingerpostError(err, 'forbidden') || isFingerpostError(err, 'limit_exceeded'))
        throw new DavError(403, err.message, { ns: NS.dav, name: 'need-privileges' });
      throw err;
    }
  }
}
