import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpAuthenticator } from '../../auth/http/authenticator.ts';
import { authenticateRequest } from '../../auth/http/fastify.ts';
import type { AvailabilityService } from '../../calendar/federation/availability.ts';
import type { Scheduler } from '../../calendar/scheduling/scheduler.ts';
import type { CalendarService } from '../../calendar/service.ts';
import { isFingerpostError } from '../../core/errors.ts';
import type { Config } from '../../config/config.ts';
import { resourceIds } from '../../config/resources.ts';
import type { ContactsStore } from '../../contacts/store.ts';
import type { Logger } from '../../core/log.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import type { HttpApp } from '../http/server.ts';
import { addressData, CardDav } from './carddav.ts';
import { CalDav, calendarData, type PropSelection, propertyUpdates, selection } from './caldav.ts';
import { DavError } from './errors.ts';
import { applyShareRequest, hostPath, inviteNotification, readInviteReply, repliedInvite } from './sharing.ts';
import { principalSearchPropertySet, principalSearchResults, readPrincipalSearch } from './principal-search.ts';
import { readFreeBusyRequest, scheduleFreeBusy } from './schedule-outbox.ts';
import { document, href, multistatus, type PropResult, propResponse } from './multistatus.ts';
import { clark, NS } from './names.ts';
import {
  addressbookHomePath,
  addressbookPath,
  calendarHomePath,
  calendarPath,
  DAV_ROOT,
  memberPath,
  notificationsPath,
  outboxPath,
  principalCollectionPath,
  parseDavPath,
  principalPath,
} from './paths.ts';
import {
  allPropNames,
  cardContentType,
  liveProps,
  notificationEtag,
  objectContentType,
  type PropContext,
  principalProps,
} from './props.ts';
import { type DavResource, inviteUid, invitesOf, resolveCalendarPath } from './resources.ts';
import { DavXmlError, parseXml, type XmlElement } from './xml.ts';

/**
 * The WebDAV tree on the HTTPS app (RFC 4918 with RFC 4791 CalDAV): OPTIONS with the DAV header,
 * PROPFIND at depth 0 and 1, PROPPATCH, MKCALENDAR, MKCOL, GET/HEAD/PUT/DELETE of objects and
 * REPORT, under `/dav/` and PROPFIND/OPTIONS on `/` for discovery from the bare server URL, plus the
 * RFC 6764 `/.well-known/caldav` redirect. Every request but OPTIONS signs in through the auth core.
 */

export interface DavDeps {
  readonly config: Config;
  readonly calendar: CalendarService;
  readonly http: HttpAuthenticator;
  readonly logger: Logger;
  /** Address books; CardDAV is served when present. */
  readonly contacts?: ContactsStore;
  /** Implicit scheduling (RFC 6638 §3.2) on PUT and DELETE of events with attendees; absent: none. */
  readonly scheduler?: Scheduler;
  /** Free/busy of attendees here and on other domains for outbox POSTs (RFC 6638 §5); absent: 403. */
  readonly availability?: AvailabilityService;
  readonly now?: () => number;
}

const METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR', 'REPORT'] as const;
const BODY_METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR', 'REPORT'];
/** RFC 4918 §10.1 compliance classes, RFC 3744 (access-control), RFC 4791 §5.1, RFC 5689 §3, RFC 6638 §2, calendarserver sharing. */
const DAV_CLASSES = '1, 3, access-control, calendar-access, calendar-auto-schedule, addressbook, extended-mkcol, calendarserver-sharing';
const XML = 'application/xml; charset=utf-8';

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function bodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/** Reads an XML body; undefined when there is none. */
function xmlBody(request: FastifyRequest): XmlElement | undefined {
  const body = bodyOf(request);
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new DavError(400, 'the XML body is not UTF-8');
  }
  if (text.trim() === '') return undefined;
  try {
    return parseXml(text);
  } catch (err) {
    if (err instanceof DavXmlError)
      throw new DavError(err.tooLarge ? 413 : 400, err.line ? `line ${err.line}: ${err.message}` : err.message);
    throw err;
  }
}

function expect(body: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  if (body && (body.ns !== ns || body.name !== name)) throw new DavError(400, `expected a ${name} body, got ${body.name.slice(0, 40)}`);
  return body;
}

/** Registers the DAV routes. */
export function registerDavRoutes(app: HttpApp, deps: DavDeps): void {
  const { config } = deps;
  const resource = resourceIds(config).calendar;
  const caldav = new CalDav({ service: deps.calendar, publicUrl: config.publicUrl, maxAttendees: config.calendar.max_attendees });
  const carddav = deps.contacts
    ? new CardDav({ store: deps.contacts, publicUrl: config.publicUrl, maxBytes: Math.min(deps.calendar.settings.maxIcsBytes, 1 << 20) })
    : undefined;
  const log = deps.logger;

  for (const m of BODY_METHODS) if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });

  // RFC 6764 §5: the well-known URIs point at the context path.
  for (const name of ['caldav', 'carddav'])
    app.route({
      method: ['GET', 'HEAD', 'PROPFIND', 'OPTIONS'],
      url: `/.well-known/${name}`,
      handler: async (_request, reply) =>
        reply.code(301).header('location', DAV_ROOT).header('cache-control', 'public, max-age=3600').send(),
    });

  const propContext = (user: DirectoryAccount): PropContext => ({
    user: user.address,
    maxResourceSize: deps.calendar.settings.maxIcsBytes,
    maxAttendees: caldav.maxAttendees,
    contacts: carddav !== undefined,
    syncToken: (kind, id, modseq) => (kind === 'addressbook' && carddav ? carddav.token(id, modseq) : caldav.token(id, modseq)),
  });

  /** A `<D:response>` for a resource and a property selection. */
  function respond(path: string, res: DavResource, sel: PropSelection, ctx: PropContext): string {
    const live = liveProps(res, ctx);
    if (sel.kind === 'propname')
      return propResponse(
        path,
        Object.keys(live).map((k) => nameOf(k, 200, '')),
      );
    const names = sel.kind === 'allprop' ? allPropNames(res, ctx).map(splitClark) : sel.names;
    const results: PropResult[] = names.map(({ ns, name, element }: { ns: string; name: string; element?: XmlElement }) => {
      const producer = live[clark(ns, name)];
      const value = producer
        ? producer()
        : (calendarData(res, ns, name, element, deps.calendar.settings.maxInstances) ?? addressData(res, ns, name));
      return value === undefined ? { ns, name, status: 404 } : { ns, name, status: 200, value };
    });
    return propResponse(path, results);
  }

  async function members(res: DavResource, path: string): Promise<Array<{ path: string; res: DavResource }>> {
    if (res.kind === 'calendar-home') {
      const store = deps.calendar.store;
      const list = await store.listCalendars(res.account.id);
      const inbox = await store.ensureInbox(res.account.id, deps.calendar.settings.defaultTimezone);
      const shared = await store.shares.sharedWith(res.account.id);
      const invites = await Promise.all(list.map((c) => store.shares.list(c.id)));
      return [
        ...[...list, inbox, ...shared].map((c, i) => ({
          path: calendarPath(res.account.address, c.name),
          res: { kind: 'calendar', account: res.account, calendar: c, ...(i < list.length ? { invites: invites[i] } : {}) } as const,
        })),
        { path: outboxPath(res.account.address), res: { kind: 'schedule-outbox', account: res.account } as const },
        {
          path: notificationsPath(res.account.address),
          res: {
            kind: 'notifications',
            account: res.account,
            invites: await invitesOf(res.account, deps.calendar, deps.contacts),
          } as const,
        },
      ];
    }
    if (res.kind === 'notifications')
      return res.invites.map((invite) => ({
        path: memberPath(self(res), `${inviteUid(invite)}.xml`),
        res: { kind: 'notification', account: res.account, name: `${inviteUid(invite)}.xml`, invite } as const,
      }));
    if (res.kind === 'calendar') {
      const objects = await deps.calendar.store.queryCandidates(res.calendar.id, undefined, 100_000);
      return objects.map((o) => ({
        path: memberPath(path, o.name),
        res: { kind: 'calendar-object', account: res.account, calendar: res.calendar, name: o.name, object: o },
      }));
    }
    if (res.kind === 'addressbook-home' && carddav) {
      const list = await carddav.store.listBooks(res.account.id);
      const shared = await carddav.store.shares.sharedWith(res.account.id);
      const invites = await Promise.all(list.map((b) => carddav.store.shares.list(b.id)));
      return [...list, ...shared].map((b, i) => ({
        path: addressbookPath(res.account.address, b.name),
        res: { kind: 'addressbook', account: res.account, book: b, ...(i < list.length ? { invites: invites[i] } : {}) } as const,
      }));
    }
    if (res.kind === 'addressbook' && carddav) {
      const cards = await carddav.store.cards(res.book.id);
      return cards.map((c) => ({
        path: memberPath(path, c.name),
        res: { kind: 'address-object', account: res.account, book: res.book, name: c.name, card: c },
      }));
    }
    return [];
  }

  const self = (res: DavResource & { kind: 'notifications' }) => notificationsPath(res.account.address);

  function canonicalPath(res: DavResource, requested: string): string {
    switch (res.kind) {
      case 'principals':
        return principalCollectionPath;
      case 'notifications':
        return self(res);
      case 'notification':
        return memberPath(self({ kind: 'notifications', account: res.account, invites: [] }), res.name);
      case 'principal':
        return principalPath(res.account.address);
      case 'calendar-home':
        return calendarHomePath(res.account.address);
      case 'schedule-outbox':
        return outboxPath(res.account.address);
      case 'calendar':
        return calendarPath(res.account.address, res.calendar.name);
      case 'calendar-object':
        return memberPath(calendarPath(res.account.address, res.calendar.name), res.name);
      case 'addressbook-home':
        return addressbookHomePath(res.account.address);
      case 'addressbook':
        return addressbookPath(res.account.address, res.book.name);
      case 'address-object':
        return memberPath(addressbookPath(res.account.address, res.book.name), res.name);
      default:
        return requested;
    }
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const pathname = request.url.split('?')[0]!;
    const path = parseDavPath(pathname);
    if (request.method === 'OPTIONS') {
      return reply.code(200).header('dav', DAV_CLASSES).header('allow', METHODS.join(', ')).header('content-length', '0').send();
    }
    if (!path) return sendDavError(reply, new DavError(404, 'no such resource'));
    const scope = path.area === 'addressbooks' ? 'contacts' : 'calendars';
    const auth = await authenticateRequest(deps.http, request, reply, { resource, scope });
    if (!auth) return reply;
    const user = auth.account;
    const res = await resolveCalendarPath(path, user, deps.calendar, deps.contacts);
    if (!res || res.kind === 'other') return sendDavError(reply, new DavError(404, 'no such resource'));
    const ctx = propContext(user);
    const self = canonicalPath(res, pathname);
    switch (request.method) {
      case 'PROPFIND': {
        const depth = (headerOf(request, 'depth') ?? 'infinity').trim().toLowerCase();
        if (depth !== '0' && depth !== '1')
          throw new DavError(403, 'PROPFIND with Depth: infinity is not supported; use 0 or 1', {
            ns: NS.dav,
            name: 'propfind-finite-depth',
          });
        const body = expect(xmlBody(request), NS.dav, 'propfind');
        const sel = selection(body);
        if (
          res.kind === 'missing-collection' ||
          (res.kind === 'calendar-object' && !res.object) ||
          (res.kind === 'address-object' && !res.card) ||
          (res.kind === 'notification' && !res.invite)
        )
          throw new DavError(404, 'no such resource');
        const out = [respond(self, res, sel, ctx)];
        if (depth === '1') for (const m of await members(res, self)) out.push(respond(m.path, m.res, sel, ctx));
        return reply.code(207).header('content-type', XML).send(multistatus(out));
      }
      case 'PROPPATCH': {
        const body = expect(xmlBody(request), NS.dav, 'propertyupdate');
        const updates = propertyUpdates(body);
        if (res.kind === 'addressbook' && res.book.shared)
          throw new DavError(403, 'only the owner changes this address book’s properties', { ns: NS.dav, name: 'need-privileges' });
        if (res.kind === 'addressbook' && carddav)
          return reply
            .code(207)
            .header('content-type', XML)
            .send(await carddav.patchBook(res.book, self, updates));
        if (res.kind !== 'calendar') {
          const results = updates.map((u) => ({ ns: u.prop.ns, name: u.prop.name, status: 403 }));
          return reply
            .code(207)
            .header('content-type', XML)
            .send(multistatus([propResponse(self, results)]));
        }
        if (res.calendar.subscription || res.calendar.shared)
          throw new DavError(403, 'only the owner changes this calendar’s properties', { ns: NS.dav, name: 'need-privileges' });
        return reply
          .code(207)
          .header('content-type', XML)
          .send(await caldav.patchCalendar(res.calendar, self, updates));
      }
      case 'MKCALENDAR':
      case 'MKCOL': {
        if (res.kind !== 'missing-collection') {
          if (res.kind === 'calendar' || res.kind === 'addressbook')
            throw new DavError(405, 'a collection exists here', { ns: NS.dav, name: 'resource-must-be-null' });
          throw new DavError(403, 'collections can only be made in a calendar home');
        }
        const body =
          request.method === 'MKCALENDAR' ? expect(xmlBody(request), NS.caldav, 'mkcalendar') : expect(xmlBody(request), NS.dav, 'mkcol');
        const updates = propertyUpdates(body);
        if (res.area === 'addressbooks') {
          const type = updates.find((u) => u.prop.ns === NS.dav && u.prop.name === 'resourcetype' && !u.remove)?.prop;
          if (request.method !== 'MKCOL' || !carddav || !type?.children.some((c) => c.ns === NS.carddav && c.name === 'addressbook'))
            throw new DavError(403, 'only address books can be made here (MKCOL with a CARDDAV:addressbook resourcetype)', {
              ns: NS.dav,
              name: 'valid-resourcetype',
            });
          const made = await carddav.makeBook(res.account, res.name, updates);
          if (!made.ok) {
            const inner = propResponse(self, made.results);
            const propstats = inner.replace(/^<D:response><D:href>[^<]*<\/D:href>/, '').replace(/<\/D:response>$/, '');
            return reply
              .code(403)
              .header('content-type', XML)
              .send(docOf(NS.dav, 'mkcol-response', propstats));
          }
          return reply
            .code(201)
            .header('location', addressbookPath(res.account.address, res.name))
            .header('cache-control', 'no-store')
            .send();
        }
        if (request.method === 'MKCOL') {
          const type = updates.find((u) => u.prop.ns === NS.dav && u.prop.name === 'resourcetype' && !u.remove)?.prop;
          if (!type?.children.some((c) => c.ns === NS.caldav && c.name === 'calendar'))
            throw new DavError(403, 'only calendar collections can be made here (MKCOL with a CALDAV:calendar resourcetype)', {
              ns: NS.dav,
              name: 'valid-resourcetype',
            });
        }
        const made = await caldav.makeCalendar(res.account, res.name, updates);
        if (!made.ok) {
          const root = request.method === 'MKCALENDAR' ? 'mkcalendar-response' : 'mkcol-response';
          const ns = request.method === 'MKCALENDAR' ? NS.caldav : NS.dav;
          const inner = propResponse(self, made.results);
          // The propstat groups of a response, without its href (RFC 5689 §5.2).
          const propstats = inner.replace(/^<D:response><D:href>[^<]*<\/D:href>/, '').replace(/<\/D:response>$/, '');
          return reply
            .code(403)
            .header('content-type', XML)
            .send(docOf(ns, root, propstats));
        }
        return reply.code(201).header('location', calendarPath(res.account.address, res.name)).header('cache-control', 'no-store').send();
      }
      case 'GET':
      case 'HEAD': {
        if (res.kind === 'address-object') {
          if (!res.card) throw new DavError(404, 'no such address object');
          return sendStored(request, reply, res.card.etag, cardContentType(res.card), res.card.vcard);
        }
        if (res.kind === 'notification') {
          if (!res.invite) throw new DavError(404, 'no such notification');
          return sendStored(request, reply, notificationEtag(res.invite), XML, inviteNotification(res.invite, res.account.address));
        }
        if (res.kind !== 'calendar-object') throw new DavError(405, 'GET is served for calendar objects; use PROPFIND on collections');
        if (!res.object) throw new DavError(404, 'no such calendar object');
        if (res.object.scheduleTag) reply.header('schedule-tag', res.object.scheduleTag);
        return sendStored(request, reply, res.object.etag, objectContentType(res.object), res.object.ics);
      }
      case 'PUT': {
        if (res.kind === 'address-object' && carddav) {
          const r = await carddav.put(res.account, res.book, res.name, headerOf(request, 'content-type') ?? '', bodyOf(request), {
            ifMatch: headerOf(request, 'if-match'),
            ifNoneMatch: headerOf(request, 'if-none-match'),
          });
          return reply
            .code(r.created ? 201 : 204)
            .header('etag', r.etag)
            .send();
        }
        if (res.kind !== 'calendar-object') throw new DavError(405, 'PUT calendar objects into a calendar collection');
        const r = await caldav.put(res.account, res.calendar, res.name, headerOf(request, 'content-type') ?? '', bodyOf(request), {
          ifMatch: headerOf(request, 'if-match'),
          ifNoneMatch: headerOf(request, 'if-none-match'),
          ifScheduleTagMatch: headerOf(request, 'if-schedule-tag-match'),
        });
        // Events written into a calendar shared with the user are not scheduled in the user's name.
        const scheduler = res.calendar.shared ? undefined : deps.scheduler;
        const stored = scheduler ? await deps.calendar.store.getObject(res.calendar.id, res.name) : undefined;
        if (scheduler && stored) {
          // The object is stored: a failure to schedule is logged, never turned into a failed PUT.
          const outcome = await scheduler.afterWrite(res.account, res.calendar, res.name, res.object, stored).catch((err: Error) => {
            log.warn({ account: res.account.address, err: err.message }, 'implicit scheduling failed');
            return undefined;
          });
          if (outcome?.scheduleTag) reply.header('schedule-tag', outcome.scheduleTag);
          // RFC 4791 §5.3.4: no ETag when the stored object differs from what was sent (SCHEDULE-STATUS was added).
          if (outcome?.rewritten) return reply.code(r.created ? 201 : 204).send();
        }
        return reply
          .code(r.created ? 201 : 204)
          .header('etag', r.etag)
          .send();
      }
      case 'POST': {
        if (res.kind === 'calendar' || (res.kind === 'addressbook' && carddav)) {
          const body = xmlBody(request);
          if (!body) throw new DavError(400, 'POST to a collection needs a CS:share body');
          if (res.kind === 'calendar') {
            const c = res.calendar;
            if (c.shared || c.subscription || c.kind !== 'calendar')
              throw new DavError(403, 'only your own calendars can be shared', { ns: NS.dav, name: 'need-privileges' });
            await applyShareRequest(deps.calendar.store.shares, c, body);
          } else {
            if (res.book.shared)
              throw new DavError(403, 'only your own address books can be shared', { ns: NS.dav, name: 'need-privileges' });
            await applyShareRequest(carddav!.store.shares, res.book, body);
          }
          log.info({ account: res.account.address, kind: res.kind }, 'sharing changed over DAV');
          return reply.code(200).header('cache-control', 'no-store').send();
        }
        if (res.kind === 'calendar-home' || res.kind === 'addressbook-home') {
          // calendarserver sharing: the sharee answers an invite with CS:invite-reply to its home.
          const body = expect(xmlBody(request), NS.cs, 'invite-reply');
          if (!body) throw new DavError(400, 'POST to a home needs a CS:invite-reply body');
          const answer = readInviteReply(body, new URL(config.publicUrl).origin);
          const invite = repliedInvite(
            answer,
            answer.uid
              ? ((await (answer.uid.type === 'calendar' ? deps.calendar.store.shares : deps.contacts?.shares)?.invites(
                  res.account.id,
                  answer.uid.id,
                )) ?? [])
              : await invitesOf(res.account, deps.calendar, deps.contacts),
          );
          if (!invite) throw new DavError(403, 'no invite of yours matches this reply', { ns: NS.cs, name: 'valid-request' });
          const shares = invite.type === 'calendar' ? deps.calendar.store.shares : deps.contacts!.shares;
          await shares.reply(invite.collectionId, res.account.id, answer.accept);
          log.info(
            { account: res.account.address, kind: invite.type, accept: answer.accept, host: hostPath(invite) },
            'share invite answered',
          );
          if (!answer.accept) return reply.code(200).header('cache-control', 'no-store').send();
          const mounted =
            invite.type === 'calendar'
              ? calendarPath(res.account.address, `shared-${invite.collectionId}`)
              : addressbookPath(res.account.address, `shared-${invite.collectionId}`);
          return reply
            .code(200)
            .header('content-type', XML)
            .header('cache-control', 'no-store')
            .send(document(NS.cs, 'shared-as', href(mounted)));
        }
        if (res.kind !== 'schedule-outbox') throw new DavError(405, 'POST is served on the scheduling outbox and on calendars (CS:share)');
        if (!deps.availability) throw new DavError(403, 'free/busy requests are not served here', { ns: NS.caldav, name: 'schedule-send' });
        const fb = readFreeBusyRequest(res.account, headerOf(request, 'content-type') ?? '', bodyOf(request), {
          maxBytes: deps.calendar.settings.maxIcsBytes,
          maxRangeMs: deps.calendar.settings.maxRangeMs,
        });
        let text: string;
        try {
          text = await scheduleFreeBusy(res.account, fb, deps.availability, (deps.now ?? Date.now)());
        } catch (err) {
          if (isFingerpostError(err, 'invalid_argument'))
            throw new DavError(403, err.message, { ns: NS.caldav, name: 'recipient-limit-exceeded' });
          throw err;
        }
        return reply.code(200).header('content-type', XML).header('cache-control', 'no-store').send(text);
      }
      case 'DELETE': {
        if (res.kind === 'calendar-object') {
          await caldav.deleteObject(res.calendar, res.name, headerOf(request, 'if-match'));
          // RFC 6638 §3.2.5; nothing is scheduled for messages removed from the inbox.
          if (deps.scheduler && res.object && res.calendar.kind === 'calendar' && !res.calendar.shared)
            await deps.scheduler
              .afterDelete(res.account, res.object, headerOf(request, 'schedule-reply')?.trim().toUpperCase() !== 'F')
              .catch((err: Error) => log.warn({ account: res.account.address, err: err.message }, 'implicit scheduling failed'));
          return reply.code(204).send();
        }
        if (res.kind === 'calendar') {
          if (res.calendar.kind === 'inbox') throw new DavError(403, 'the scheduling inbox cannot be deleted');
          // A sharee removing a shared calendar from its home leaves the share, not the owner's calendar.
          if (res.calendar.shared) {
            await deps.calendar.store.shares.unshare(res.calendar.id, res.account.id);
            return reply.code(204).send();
          }
          await deps.calendar.store.removeCalendar(res.account.id, res.calendar.name);
          log.info({ account: res.account.address, calendar: res.calendar.name }, 'calendar removed over DAV');
          return reply.code(204).send();
        }
        if (res.kind === 'address-object' && carddav) {
          await carddav.deleteCard(res.book, res.name, headerOf(request, 'if-match'));
          return reply.code(204).send();
        }
        if (res.kind === 'addressbook' && carddav) {
          // A sharee removing a shared address book from its home leaves the share.
          if (res.book.shared) await carddav.store.shares.unshare(res.book.id, res.account.id);
          else await carddav.store.removeBook(res.account.id, res.book.name);
          return reply.code(204).send();
        }
        if (res.kind === 'notification') {
          // Removing an invite notification unanswered declines the invite.
          if (!res.invite) throw new DavError(404, 'no such notification');
          const shares = res.invite.type === 'calendar' ? deps.calendar.store.shares : deps.contacts!.shares;
          if (res.invite.status === 'pending') await shares.reply(res.invite.collectionId, res.account.id, false);
          return reply.code(204).send();
        }
        throw new DavError(403, 'this resource cannot be deleted');
      }
      case 'REPORT': {
        const body = xmlBody(request);
        if (!body) throw new DavError(400, 'REPORT needs an XML body');
        const origin = new URL(config.publicUrl).origin;
        if (res.kind === 'principals' || res.kind === 'principal' || res.kind === 'root') {
          if (body.ns === NS.dav && body.name === 'principal-search-property-set')
            return reply.code(200).header('content-type', XML).send(principalSearchPropertySet());
          if (body.ns === NS.dav && body.name === 'principal-property-search') {
            const { query, limit } = readPrincipalSearch(body);
            const found = await deps.calendar.store.principals.search(user.domainId, query, limit + 1);
            const sel = selection(body);
            const out = principalSearchResults(found, limit, (p) => {
              const props = principalProps(p.address, p.displayName, ctx);
              const names = sel.kind === 'prop' ? sel.names : Object.keys(props).map(splitClark);
              return propResponse(
                principalPath(p.address),
                names.map(({ ns, name }) => {
                  const value = props[clark(ns, name)]?.();
                  return value === undefined ? { ns, name, status: 404 } : { ns, name, status: 200, value };
                }),
              );
            });
            return reply.code(207).header('content-type', XML).send(multistatus(out));
          }
        }
        if (res.kind === 'addressbook' && carddav) {
          const r = await carddav.report(res.account, res.book, body, origin, { response: (p, r2, sel) => respond(p, r2, sel, ctx) });
          return reply.code(r.status).header('content-type', r.type).send(r.text);
        }
        if (res.kind !== 'calendar')
          throw new DavError(403, `the ${body.name.slice(0, 40)} report is not supported here`, { ns: NS.dav, name: 'supported-report' });
        const r = await caldav.report(res.account, res.calendar, body, origin, { response: (p, r2, sel) => respond(p, r2, sel, ctx) });
        return reply
          .code(r.status)
          .header('content-type', r.type)
          .send('stream' in r ? r.stream : r.text);
      }
      default:
        throw new DavError(405, `${request.method} is not supported here`);
    }
  }

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: Math.max(deps.calendar.settings.maxIcsBytes, 1 << 20) + 1 },
      (_req, body, done) => done(null, body),
    );
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        return await handle(request, reply);
      } catch (err) {
        if (err instanceof DavError) return sendDavError(reply, err);
        throw err;
      }
    };
    scope.route({ method: [...METHODS], url: '/dav', handler });
    scope.route({ method: [...METHODS], url: '/dav/*', handler });
    // Discovery from the bare server URL (RFC 6764 §6 step 3 falls back to the root).
    scope.route({ method: ['PROPFIND'], url: '/', handler });
  });
}

/**
 * GET/HEAD of a stored object (RFC 4791 §5.3.4, RFC 6352 §6.3.2): the bytes as stored with their
 * strong ETag, 304 when If-None-Match names it or `*` (RFC 9110 §13.1.2).
 */
function sendStored(request: FastifyRequest, reply: FastifyReply, etag: string, contentType: string, body: string): FastifyReply {
  reply.header('etag', etag).header('cache-control', 'private, no-cache').header('content-type', contentType);
  const inm = headerOf(request, 'if-none-match');
  if (inm?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.code(304).send();
  if (request.method === 'HEAD')
    return reply
      .header('content-length', String(Buffer.byteLength(body)))
      .code(200)
      .send();
  return reply.code(200).send(body);
}

function sendDavError(reply: FastifyReply, err: DavError): FastifyReply {
  const { type, text } = err.body();
  if (err.status === 405) reply.header('allow', METHODS.join(', '));
  return reply.code(err.status).header('content-type', type).header('cache-control', 'no-store').send(text);
}

function splitClark(key: string): { ns: string; name: string } {
  const close = key.indexOf('}');
  return { ns: key.slice(1, close), name: key.slice(close + 1) };
}

function nameOf(key: string, status: number, value: string): PropResult {
  return { ...splitClark(key), status, value };
}

function docOf(ns: string, root: string, inner: string): string {
  const prefix = ns === NS.caldav ? 'C' : 'D';
  return `<?xml version="1.0" encoding="utf-8"?>\n<${prefix}:${root} xmlns:D="DAV:" xmlns:C="${NS.caldav}" xmlns:CR="${NS.carddav}" xmlns:CS="${NS.cs}" xmlns:A="${NS.apple}">${inner}</${prefix}:${root}>\n`;
}
