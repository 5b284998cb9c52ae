import type { CollectionShares, Invite, ShareAccess } from '../../calendar/shares.ts';
import { isFingerpostError } from '../../core/errors.ts';
import { DavError } from './errors.ts';
import { document, el, esc, href } from './multistatus.ts';
import { NS } from './names.ts';
import { addressbookPath, calendarPath, hrefPath, parseDavPath } from './paths.ts';
import { inviteUid, parseInviteUid } from './resources.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';

/**
 * The calendarserver sharing extension (caldav-sharing, used by Apple Calendar, Apple Contacts
 * and Evolution) for calendars and address books: the owner's `CS:share` POST to the collection
 * invites (`CS:set` with `CS:read` or `CS:read-write`) or uninvites (`CS:remove`) sharees of its
 * domain, named by `mailto:` hrefs; each sharee finds a `CS:invite-notification` in its
 * notification collection and answers with a `CS:invite-reply` POST to its home.
 */

/** The most set/remove entries one request may carry. */
const MAX_ENTRIES = 100;

function addressOf(entry: XmlElement): string {
  const h = child(entry, NS.dav, 'href')?.text.trim() ?? '';
  const address = h.replace(/^mailto:/i, '');
  if (!address.includes('@') || address.length > 320) throw new DavError(400, 'each sharee is a DAV:href with a mailto: address');
  return address.toLowerCase();
}

/** Applies a `CS:share` request to `collection` (the user's own; the caller checks that). */
export async function applyShareRequest(
  shares: CollectionShares,
  collection: { id: number; accountId: number },
  body: XmlElement,
): Promise<void> {
  if (body.ns !== NS.cs || body.name !== 'share') throw new DavError(400, 'expected a CS:share body');
  const sets = childrenOf(body, NS.cs, 'set');
  const removes = childrenOf(body, NS.cs, 'remove');
  if (sets.length + removes.length > MAX_ENTRIES) throw new DavError(403, `at most ${MAX_ENTRIES} sharees per request`);
  const plan = [
    ...sets.map((s) => ({
      address: addressOf(s),
      access: (child(s, NS.cs, 'read-write') ? 'read-write' : 'read') as ShareAccess,
      summary: child(s, NS.cs, 'summary')?.text.trim() ?? '',
    })),
    ...removes.map((r) => ({ address: addressOf(r), access: undefined, summary: '' })),
  ];
  for (const { address, access, summary } of plan) {
    try {
      if (access) await shares.share(collection, address, access, summary);
      else await shares.unshare(collection.id, address);
    } catch (err) {
      if (isFingerpostError(err, 'not_found') || isFingerpostError(err, 'forbidden') || isFingerpostError(err, 'limit_exceeded'))
        throw new DavError(403, err.message, { ns: NS.dav, name: 'need-privileges' });
      throw err;
    }
  }
}

/** What a `CS:invite-reply` body asks: which invite (by uid or by the host URL) and the answer. */
export interface InviteReply {
  readonly accept: boolean;
  /** From CS:in-reply-to, when it is one of ours. */
  readonly uid?: { type: 'calendar' | 'addressbook'; id: number };
  /** From CS:hosturl: the owner and the owner's collection name. */
  readonly host?: { type: 'calendar' | 'addressbook'; owner: string; name: string };
}

/** Reads a `CS:invite-reply` body (caldav-sharing §5.3.2); 400 when it names no invite or no answer. */
export function readInviteReply(body: XmlElement, origin: string): InviteReply {
  const accepted = child(body, NS.cs, 'invite-accepted') !== undefined;
  const declined = child(body, NS.cs, 'invite-declined') !== undefined;
  if (accepted === declined) throw new DavError(400, 'an invite-reply holds CS:invite-accepted or CS:invite-declined');
  const inReplyTo = child(body, NS.cs, 'in-reply-to')?.text ?? '';
  const uid = inReplyTo ? parseInviteUid(inReplyTo) : undefined;
  const hostHref = child(child(body, NS.cs, 'hosturl'), NS.dav, 'href')?.text ?? '';
  const p = hostHref ? hrefPath(hostHref, origin) : undefined;
  const parsed = p ? parseDavPath(p) : undefined;
  const host =
    parsed && 'address' in parsed && parsed.area !== 'principals' && parsed.collection && !parsed.member
      ? {
          type: parsed.area === 'calendars' ? ('calendar' as const) : ('addressbook' as const),
          owner: parsed.address.toLowerCase(),
          name: parsed.collection,
        }
      : undefined;
  if (!uid && !host) throw new DavError(400, 'an invite-reply names the invite by CS:in-reply-to or CS:hosturl');
  return { accept: accepted, ...(uid ? { uid } : {}), ...(host ? { host } : {}) };
}

/** The invite among `invites` a reply answers. */
export function repliedInvite(reply: InviteReply, invites: readonly Invite[]): Invite | undefined {
  return invites.find((i) =>
    reply.uid
      ? i.type === reply.uid.type && i.collectionId === reply.uid.id
      : i.type === reply.host!.type && i.owner === reply.host!.owner && i.collectionName === reply.host!.name,
  );
}

/** The owner's path of a shared collection (CS:hosturl). */
export function hostPath(i: Invite): string {
  return i.type === 'calendar' ? calendarPath(i.owner, i.collectionName) : addressbookPath(i.owner, i.collectionName);
}

/** The status element of an answer (CS:invite-noresponse, -accepted, -declined). */
export function inviteStatus(status: Invite['status']): string {
  return el(NS.cs, status === 'pending' ? 'invite-noresponse' : status === 'accepted' ? 'invite-accepted' : 'invite-declined');
}

function stamp(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
}

/** CS:notificationtype of an invite notification (caldav-sharing §5.2.1). */
export function notificationType(i: Invite): string {
  return `<CS:invite-notification shared-type="${i.type}"/>`;
}

/** The body of an invite notification resource (caldav-sharing §5.2.2): a CS:notification document. */
export function inviteNotification(i: Invite, sharee: string): string {
  const organizer = href(`mailto:${i.owner}`) + (i.ownerDisplayName ? el(NS.cs, 'common-name', esc(i.ownerDisplayName)) : '');
  const inner =
    el(NS.cs, 'uid', esc(inviteUid(i))) +
    href(`mailto:${sharee}`) +
    inviteStatus(i.status) +
    el(NS.cs, 'hosturl', href(hostPath(i))) +
    el(NS.cs, 'organizer', organizer) +
    el(NS.cs, 'access', el(NS.cs, i.access)) +
    el(NS.cs, 'summary', esc(i.summary || i.displayName));
  return document(
    NS.cs,
    'notification',
    `${el(NS.cs, 'dtstamp', stamp(i.createdAt))}<CS:invite-notification shared-type="${i.type}">${inner}</CS:invite-notification>`,
  );
}
