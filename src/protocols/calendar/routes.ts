import type { FastifyReply, FastifyRequest } from 'fastify';
import { ASSERTION_SCHEME } from '../../calendar/federation/assertion.ts';
import { type AvailabilityService, availabilityJson } from '../../calendar/federation/availability.ts';
import type { AssertionVerifier } from '../../calendar/federation/verify.ts';
import { IcsError } from '../../calendar/ics.ts';
import { parseRange } from '../../calendar/range.ts';
import { freeBusyIcs, freeBusyJson } from '../../calendar/render.ts';
import type { CalendarService } from '../../calendar/service.ts';
import { type Asker, parseSharingRule } from '../../calendar/sharing.ts';
import { checkCalendarName, checkObjectName, PreconditionFailed } from '../../calendar/store.ts';
import type { HttpAuthenticator } from '../../auth/http/authenticator.ts';
import { authenticateRequest } from '../../auth/http/fastify.ts';
import type { Logger } from '../../core/log.ts';
import type { Config } from '../../config/config.ts';
import { resourceIds } from '../../config/resources.ts';
import { isFingerpostError } from '../../core/errors.ts';
import { parseQuery, single } from '../../discovery/query.ts';
import { PerIpLimiter } from '../../discovery/rate-limit.ts';
import type { Directory, DirectoryAccount } from '../../directory/directory.ts';
import { clientIp, type HttpApp, sendProblem } from '../http/server.ts';

/**
 * The calendar endpoints on the HTTPS app: free/busy of an account (`/freebusy/<address>`, for its
 * owner, local users, other domains' users proved by assertion, or anyone, per the sharing rules),
 * the account's own sharing rule, the asking side (`/calendar/availability`), and `.ics` objects
 * (`/calendar/<address>/<calendar>/<name>.ics`: PUT, GET, DELETE with ETags).
 */

export interface CalendarRouteDeps {
  readonly config: Config;
  readonly calendar: CalendarService;
  readonly directory: Directory;
  readonly availability: AvailabilityService;
  readonly verifier: AssertionVerifier;
  /** The auth core's HTTP schemes (Basic, Bearer with the calendars scope, gateway). */
  readonly http: HttpAuthenticator;
  /** The calendar area's logger (`component: calendar`). */
  readonly logger: Logger;
}

const PROBLEM = 'about:blank';

function notFound(reply: FastifyReply): FastifyReply {
  // One answer for "no such account", "not shared with you" and "could not verify you" (RFC 4791 §7.10).
  return sendProblem(reply, 404, PROBLEM, 'no free/busy information for this address is available to you');
}

/** Splits `Authorization` into scheme and credentials; undefined when absent. */
function authorization(request: FastifyRequest): { scheme: string; value: string } | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string' || h.trim() === '') return undefined;
  const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+(.*))?$/.exec(h.trim());
  return { scheme: (m?.[1] ?? '').toLowerCase(), value: (m?.[2] ?? '').trim() };
}

/**
 * Picks the representation from `Accept` (RFC 9110 §12.5.1): JSON or iCalendar (the default). Each
 * type takes the q of its most specific range (the type, then `text/` or `application/` with a
 * wildcard subtype, then the full wildcard), so an excluded text/calendar with a full wildcard means
 * JSON; an explicit `application/json` wins a tie.
 */
function negotiate(accept: string | undefined): 'ics' | 'json' | undefined {
  if (!accept) return 'ics';
  const ranges: { type: string; q: number }[] = [];
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (Number.isFinite(q)) ranges.push({ type: type.trim(), q });
  }
  const quality = (mime: string) => {
    const major = mime.slice(0, mime.indexOf('/'));
    let best = { q: 0, specificity: 0 };
    for (const r of ranges) {
      const specificity = r.type === mime ? 3 : r.type === `${major}/*` ? 2 : r.type === '*/*' ? 1 : 0;
      if (specificity > best.specificity) best = { q: r.q, specificity };
    }
    return best;
  };
  const ics = quality('text/calendar');
  const json = quality('application/json');
  if (!(ics.q > 0) && !(json.q > 0)) return undefined;
  if (json.q > ics.q || (json.q === ics.q && json.specificity === 3)) return 'json';
  return ics.q > 0 ? 'ics' : 'json';
}

function rangeOrProblem(reply: FastifyReply, calendar: CalendarService, start: unknown, end: unknown) {
  try {
    return parseRange(start, end, calendar.settings.maxRangeMs);
  } catch (err) {
    if (isFingerpostError(err, 'invalid_argument')) {
      sendProblem(reply, 400, PROBLEM, err.message);
      return undefined;
    }
    throw err;
  }
}

/** Registers the calendar routes on the HTTPS app. */
export function registerCalendarRoutes(app: HttpApp, deps: CalendarRouteDeps): void {
  const { config, calendar } = deps;
  const log = deps.logger;

  const resource = resourceIds(config).calendar;
  const limiter = new PerIpLimiter({ perMinute: config.calendar.rate_limit });

  /** Local authentication (401/403/429 answered by the auth core when it fails). */
  async function signedIn(request: FastifyRequest, reply: FastifyReply): Promise<DirectoryAccount | undefined> {
    const result = await authenticateRequest(deps.http, request, reply, { resource, scope: 'calendars' });
    return result?.account;
  }

  /** The account named in the path when the signed-in user owns it (or is an admin); else a problem reply. */
  async function owned(request: FastifyRequest, reply: FastifyReply, address: string): Promise<DirectoryAccount | undefined> {
    const user = await signedIn(request, reply);
    if (!user) return undefined;
    const target = await lookup(address);
    if (!target || (target.id !== user.id && !user.isAdmin)) {
      sendProblem(reply, 404, PROBLEM, 'no such calendar home here');
      return undefined;
    }
    return target;
  }

  async function lookup(address: string): Promise<DirectoryAccount | undefined> {
    const at = address.lastIndexOf('@');
    if (at <= 0 || address.length > 320) return undefined;
    const account = await deps.directory.findByAddress(address);
    return account && !account.disabled ? account : undefined;
  }

  app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/calendar', 'application/ics'],
      { parseAs: 'string', bodyLimit: calendar.settings.maxIcsBytes },
      (_req, body, done) => done(null, body),
    );

    // ---- free/busy of one account ----
    scope.get<{ Params: { address: string }; Querystring: Record<string, unknown> }>('/freebusy/:address', async (request, reply) => {
      const wait = limiter.take(clientIp(request));
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return sendProblem(reply, 429, PROBLEM, 'too many free/busy requests from this address; try again later');
      }
      const format = negotiate(request.headers.accept);
      if (!format) return sendProblem(reply, 406, PROBLEM, 'free/busy is available as text/calendar or application/json');
      // RFC 3986 query decoding: `+01:00` in an unencoded offset stays `+` (form decoding makes it a space).
      let start: string | undefined;
      let end: string | undefined;
      try {
        const query = parseQuery(request.url);
        start = single(query, 'start');
        end = single(query, 'end');
      } catch (err) {
        return sendProblem(reply, 400, PROBLEM, (err as Error).message);
      }
      const range = rangeOrProblem(reply, calendar, start, end);
      if (!range) return reply;
      const address = request.params.address;
      const auth = authorization(request);
      let asker: Asker = { kind: 'anonymous' };
      let presented = false;
      if (auth?.scheme === ASSERTION_SCHEME.toLowerCase()) {
        presented = true;
        const audiences = [`${config.publicUrl}${request.url.split('?')[0]}`];
        const outcome = config.calendar.federation
          ? await deps.verifier.verify(auth.value, audiences)
          : ({ ok: false, reason: 'federation is off (calendar.federation)' } as const);
        // An asker that cannot be verified is nobody in particular: what anonymous askers may see, or 404.
        if (outcome.ok) asker = { kind: 'remote', address: outcome.asker, issuer: outcome.issuer };
        else log.info({ ip: clientIp(request), target: address.slice(0, 320), reason: outcome.reason }, 'free/busy assertion refused');
      } else if (auth || request.headers[config.auth.gateway.header.toLowerCase()] !== undefined) {
        const user = await signedIn(request, reply);
        if (!user) return reply;
        asker = { kind: 'local', address: user.address };
      }
      const account = await lookup(address);
      const allowed = account !== undefined && (await calendar.mayRead(account, asker));
      if (!allowed || !account) {
        if (asker.kind === 'anonymous' && !presented) {
          // Ask for credentials the same way whether or not the account exists.
          if (!(await signedIn(request, reply))) return reply;
        }
        if (asker.kind === 'remote')
          log.info({ asker: asker.address, target: address.slice(0, 320) }, 'free/busy not shared with remote asker');
        return notFound(reply);
      }
      const fb = await calendar.freeBusy(account, range);
      reply
        .header('cache-control', asker.kind === 'anonymous' ? 'public, max-age=60' : 'private, no-store')
        .header('vary', 'Accept, Authorization');
      if (format === 'json') return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(freeBusyJson(fb)));
      return reply.header('content-type', 'text/calendar; charset=utf-8').send(freeBusyIcs(fb, Date.now()));
    });

    // ---- the account's own sharing rule ----
    scope.get<{ Params: { address: string } }>('/freebusy/:address/sharing', async (request, reply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return reply;
      const { rule, source } = await calendar.effectiveRule(account);
      return reply.header('cache-control', 'no-store').send({ policy: rule.policy, allow: rule.allow, source });
    });
    scope.put<{ Params: { address: string }; Body: unknown }>('/freebusy/:address/sharing', async (request, reply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return reply;
      if (request.body === null || request.body === undefined) return sendProblem(reply, 415, PROBLEM, 'send the rule as application/json');
      let rule: ReturnType<typeof parseSharingRule>;
      try {
        rule = parseSharingRule(request.body);
      } catch (err) {
        if (isFingerpostError(err, 'invalid_argument')) return sendProblem(reply, 400, PROBLEM, err.message);
        throw err;
      }
      await calendar.store.setSharing(account.id, rule);
      return reply.header('cache-control', 'no-store').send({ policy: rule.policy, allow: rule.allow, source: 'account' });
    });
    scope.delete<{ Params: { address: string } }>('/freebusy/:address/sharing', async (request, reply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return reply;
      await calendar.store.clearSharing(account.id);
      const { rule, source } = await calendar.effectiveRule(account);
      return reply.header('cache-control', 'no-store').send({ policy: rule.policy, allow: rule.allow, source });
    });

    // ---- the asking side ----
    scope.post<{ Body: unknown }>('/calendar/availability', async (request, reply) => {
      const user = await signedIn(request, reply);
      if (!user) return reply;
      const body = request.body;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return sendProblem(reply, 400, PROBLEM, 'send {"attendees": [...], "start": ..., "end": ...} as application/json');
      const { attendees, start, end } = body as Record<string, unknown>;
      if (!Array.isArray(attendees) || attendees.some((a) => typeof a !== 'string'))
        return sendProblem(reply, 400, PROBLEM, 'attendees must be a list of email addresses');
      const range = rangeOrProblem(reply, calendar, start, end);
      if (!range) return reply;
      try {
        const result = await deps.availability.availability(user, attendees as string[], range);
        return reply.header('cache-control', 'no-store').send(availabilityJson(result));
      } catch (err) {
        if (isFingerpostError(err, 'invalid_argument')) return sendProblem(reply, 400, PROBLEM, err.message);
        throw err;
      }
    });

    // ---- calendars and .ics objects of an account ----
    scope.get<{ Params: { address: string } }>('/calendar/:address/', async (request, reply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return reply;
      const list = await calendar.store.listCalendars(account.id);
      return reply.header('cache-control', 'no-store').send({
        calendars: list.map((c) => ({
          name: c.name,
          displayName: c.displayName,
          timezone: c.timezone,
          includeInFreeBusy: c.includeInFreeBusy,
          ...(c.subscription
            ? { subscription: { url: c.subscription.url, lastRefresh: c.subscription.lastRefreshAt, lastError: c.subscription.lastError } }
            : {}),
        })),
      });
    });

    scope.get<{ Params: { address: string; calendar: string } }>('/calendar/:address/:calendar/', async (request, reply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return reply;
      const cal = await calendar.store.getCalendar(account.id, request.params.calendar);
      if (!cal) return sendProblem(reply, 404, PROBLEM, 'no such calendar');
      const objects = await calendar.store.listObjects(cal.id);
      return reply
        .header('cache-control', 'no-store')
        .send({ objects: objects.map((o) => ({ name: o.name, uid: o.uid, etag: o.etag, component: o.component })) });
    });

    type ObjectRoute = { Params: { address: string; calendar: string; object: string }; Body: unknown };
    const objectTarget = async (request: FastifyRequest<ObjectRoute>, reply: FastifyReply) => {
      const account = await owned(request, reply, request.params.address);
      if (!account) return undefined;
      try {
        checkCalendarName(request.params.calendar);
        checkObjectName(request.params.object);
      } catch (err) {
        if (isFingerpostError(err, 'invalid_argument')) sendProblem(reply, 400, PROBLEM, err.message);
        else throw err;
        return undefined;
      }
      return account;
    };

    scope.put<ObjectRoute>('/calendar/:address/:calendar/:object', async (request, reply) => {
      const account = await objectTarget(request, reply);
      if (!account) return reply;
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if ((type !== 'text/calendar' && type !== 'application/ics') || typeof request.body !== 'string')
        return sendProblem(reply, 415, PROBLEM, 'send the object as text/calendar');
      const header = (name: string) => (typeof request.headers[name] === 'string' ? (request.headers[name] as string) : undefined);
      try {
        const r = await calendar.putObject(account, request.params.calendar, request.params.object, request.body, {
          ifMatch: header('if-match'),
          ifNoneMatch: header('if-none-match'),
        });
        reply.code(r.created ? 201 : 204).header('etag', r.etag);
        if (r.warnings.length)
          reply.header(
            'x-fingerpost-warning',
            r.warnings
              .join('; ')
              .replace(/[^\x20-\x7e]/g, '?')
              .slice(0, 1000),
          );
        return reply.send();
      } catch (err) {
        if (err instanceof PreconditionFailed) return sendProblem(reply, 412, PROBLEM, err.message);
        if (err instanceof IcsError) return sendProblem(reply, 400, PROBLEM, err.message, { line: err.line });
        if (isFingerpostError(err, 'already_exists')) return sendProblem(reply, 409, PROBLEM, err.message);
        if (isFingerpostError(err, 'invalid_argument')) return sendProblem(reply, 400, PROBLEM, err.message);
        if (isFingerpostError(err, 'limit_exceeded')) return sendProblem(reply, 413, PROBLEM, err.message);
        throw err;
      }
    });

    scope.get<ObjectRoute>('/calendar/:address/:calendar/:object', async (request, reply) => {
      const account = await objectTarget(request, reply);
      if (!account) return reply;
      const cal = await calendar.store.getCalendar(account.id, request.params.calendar);
      const obj = cal && (await calendar.store.getObject(cal.id, request.params.object));
      if (!obj) return sendProblem(reply, 404, PROBLEM, 'no such calendar object');
      const inm = request.headers['if-none-match'];
      reply.header('etag', obj.etag).header('cache-control', 'private, no-cache');
      if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === obj.etag || t.trim() === '*')) return reply.code(304).send();
      return reply.header('content-type', 'text/calendar; charset=utf-8').send(obj.ics);
    });

    scope.delete<ObjectRoute>('/calendar/:address/:calendar/:object', async (request, reply) => {
      const account = await objectTarget(request, reply);
      if (!account) return reply;
      const cal = await calendar.store.getCalendar(account.id, request.params.calendar);
      if (!cal) return sendProblem(reply, 404, PROBLEM, 'no such calendar object');
      if (cal.subscription) return sendProblem(reply, 403, PROBLEM, 'this calendar mirrors an external feed and is read-only');
      try {
        const ifMatch = request.headers['if-match'];
        const gone = await calendar.store.deleteObject(cal, request.params.object, {
          ifMatch: typeof ifMatch === 'string' ? ifMatch : undefined,
        });
        if (!gone) return sendProblem(reply, 404, PROBLEM, 'no such calendar object');
        return reply.code(204).send();
      } catch (err) {
        if (err instanceof PreconditionFailed) return sendProblem(reply, 412, PROBLEM, err.message);
        throw err;
      }
    });
  });
}
