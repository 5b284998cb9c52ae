import { tryParseAddress } from '../../core/address.ts';
import { FingerpostError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory, DirectoryAccount } from '../../directory/directory.ts';
import type { FbType } from '../expand.ts';
import { type BusyPeriod, freeGaps, mergeBusy, type TimeRange } from '../freebusy.ts';
import { OutboundError, type OutboundHttp } from '../outbound.ts';
import { parseInstant, rfc3339 } from '../range.ts';
import type { CalendarService } from '../service.ts';
import { ASSERTION_SCHEME, type AssertionSigner, signAssertion } from './assertion.ts';
import { FederationError, type RemoteIssuers } from './issuers.ts';

/**
 * The asking side: a signed-in user's merged availability of attendees here and on other domains.
 * Local attendees are read directly under their sharing rules; for remote ones the attendee's domain
 * is found through WebFinger (its free/busy link), asked with an assertion for the user, and its
 * answer checked. Every attendee comes back as known, or unknown with the reason.
 */

/** Why an attendee's free/busy is not known. `not-shared` also covers "no such account" (no enumeration). */
export type UnknownReason =
  | 'invalid-address'
  | 'not-shared'
  | 'not-discoverable'
  | 'unreachable'
  | 'invalid-answer'
  | 'federation-unavailable';

/** One attendee: known with busy periods, or unknown with the reason. */
export type AttendeeAvailability =
  | {
      readonly address: string;
      readonly status: 'known';
      readonly source: 'local' | 'remote';
      readonly busy: readonly BusyPeriod[];
      readonly truncated: boolean;
    }
  | { readonly address: string; readonly status: 'unknown'; readonly reason: UnknownReason; readonly detail: string };

/** The answer of the asking side for a range. */
export interface Availability {
  readonly range: TimeRange;
  readonly attendees: readonly AttendeeAvailability[];
  /** Busy time of every known attendee, merged. */
  readonly busy: readonly BusyPeriod[];
  /** The gaps of the range nobody known is busy in. */
  readonly free: readonly TimeRange[];
}

/** What the asking side works with. */
export interface AvailabilityDeps {
  readonly calendar: CalendarService;
  readonly directory: Directory;
  readonly issuers: RemoteIssuers;
  readonly outbound: OutboundHttp;
  /** Absent: this server cannot prove its users' identity, so remote attendees stay unknown. */
  readonly signer?: AssertionSigner;
  /**
   * Whether the WebFinger of `domain` names the signer's issuer for its users (else other domains
   * refuse every assertion from here, so asking them is pointless). Absent: always.
   */
  readonly speaksFor?: (domain: string) => boolean;
  readonly federation: boolean;
  readonly assertionLifetimeMs: number;
  readonly maxAttendees: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

const FB_TYPES = new Set<FbType>(['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE']);
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** Reads a remote JSON free/busy answer (docs/calendars.md), clipped to `range`; undefined when malformed. */
export function readRemoteAnswer(body: Buffer, range: TimeRange): { busy: BusyPeriod[]; truncated: boolean } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const { busy, truncated } = doc as Record<string, unknown>;
  if (!Array.isArray(busy) || busy.length > 100_000) return undefined;
  const instances: BusyPeriod[] = [];
  for (const p of busy) {
    if (!p || typeof p !== 'object') return undefined;
    const { start, end, type } = p as Record<string, unknown>;
    const s = typeof start === 'string' ? parseInstant(start) : undefined;
    const e = typeof end === 'string' ? parseInstant(end) : undefined;
    if (s === undefined || e === undefined || e <= s) return undefined;
    // RFC 5545 §3.2.9: unknown busy types are treated as BUSY.
    instances.push({ start: s, end: e, type: FB_TYPES.has(type as FbType) ? (type as FbType) : 'BUSY' });
  }
  return { busy: mergeBusy(instances, range), truncated: truncated === true };
}

/** The asking side (local attendees directly, remote ones by assertion). */
export class AvailabilityService {
  readonly #deps: AvailabilityDeps;

  constructor(deps: AvailabilityDeps) {
    this.#deps = deps;
  }

  /** The merged availability of `attendees` in `range`, as `asker` may see it. */
  async availability(asker: DirectoryAccount, attendees: readonly string[], range: TimeRange): Promise<Availability> {
    const unique = [...new Map(attendees.map((a) => [a.trim().toLowerCase(), a.trim()])).values()];
    if (unique.length === 0) throw new FingerpostError('invalid_argument', 'name at least one attendee');
    if (unique.length > this.#deps.maxAttendees)
      throw new FingerpostError('invalid_argument', `at most ${this.#deps.maxAttendees} attendees per request (calendar.max_attendees)`);
    const results = await Promise.all(unique.map((a) => this.#one(asker, a, range)));
    const busy = mergeBusy(
      results.flatMap((r) => (r.status === 'known' ? r.busy : [])),
      range,
    );
    return { range, attendees: results, busy, free: freeGaps(busy, range) };
  }

  async #one(asker: DirectoryAccount, attendee: string, range: TimeRange): Promise<AttendeeAvailability> {
    const parsed = tryParseAddress(attendee);
    if (!parsed) return { address: attendee.slice(0, 320), status: 'unknown', reason: 'invalid-address', detail: 'not an email address' };
    const address = parsed.normalized;
    if (await this.#deps.directory.findDomain(parsed.domain)) return this.#local(asker, address, range);
    return this.#remote(asker, address, range);
  }

  async #local(asker: DirectoryAccount, address: string, range: TimeRange): Promise<AttendeeAvailability> {
    const account = await this.#deps.directory.findByAddress(address);
    if (!account || !(await this.#deps.calendar.mayRead(account, { kind: 'local', address: asker.address })))
      return { address, status: 'unknown', reason: 'not-shared', detail: 'not shared with you, or no such account' };
    const fb = await this.#deps.calendar.freeBusy(account, range);
    return { address, status: 'known', source: 'local', busy: fb.busy, truncated: fb.truncated };
  }

  async #remote(asker: DirectoryAccount, address: string, range: TimeRange): Promise<AttendeeAvailability> {
    const { signer, federation } = this.#deps;
    if (!federation || !signer)
      return {
        address,
        status: 'unknown',
        reason: 'federation-unavailable',
        detail: 'this server does not ask other domains (calendar.federation, or no signing issuer)',
      };
    if (this.#deps.speaksFor && !this.#deps.speaksFor(asker.domain))
      return {
        address,
        status: 'unknown',
        reason: 'federation-unavailable',
        detail: `${asker.domain} signs in with an external issuer, whose keys this server does not hold: other domains cannot verify who asks`,
      };
    let href: string;
    try {
      href = await this.#deps.issuers.freeBusyUrlOf(address);
    } catch (err) {
      return { address, status: 'unknown', reason: 'not-discoverable', detail: (err as Error).message };
    }
    const audience = href.split('?')[0]!.split('#')[0]!;
    const assertion = await signAssertion(signer, asker.address, audience, this.#deps.assertionLifetimeMs, this.#deps.now?.());
    const url = `${audience}?start=${encodeURIComponent(rfc3339(range.start))}&end=${encodeURIComponent(rfc3339(range.end))}`;
    try {
      const res = await this.#deps.outbound.get(url, {
        maxBytes: MAX_ANSWER_BYTES,
        httpsOnly: true,
        maxRedirects: 0,
        headers: { accept: 'application/json', authorization: `${ASSERTION_SCHEME} ${assertion}` },
      });
      if (res.status === 404 || res.status === 403 || res.status === 401)
        return { address, status: 'unknown', reason: 'not-shared', detail: `not shared with you, or no such account (HTTP ${res.status})` };
      if (res.status !== 200)
        return { address, status: 'unknown', reason: 'unreachable', detail: `${new URL(url).host} answered HTTP ${res.status}` };
      const answer = readRemoteAnswer(res.body, range);
      if (!answer)
        return { address, status: 'unknown', reason: 'invalid-answer', detail: `${new URL(url).host} sent no valid free/busy JSON` };
      return { address, status: 'known', source: 'remote', busy: answer.busy, truncated: answer.truncated };
    } catch (err) {
      if (err instanceof OutboundError || err instanceof FederationError) {
        this.#deps.logger?.info({ attendee: address, reason: err.message }, 'remote free/busy not reachable');
        return { address, status: 'unknown', reason: 'unreachable', detail: err.message };
      }
      throw err;
    }
  }
}

/** The JSON object of an availability answer (docs/calendars.md). */
export function availabilityJson(a: Availability) {
  const period = (p: BusyPeriod) => ({ start: rfc3339(p.start), end: rfc3339(p.end), type: p.type });
  return {
    start: rfc3339(a.range.start),
    end: rfc3339(a.range.end),
    attendees: a.attendees.map((x) =>
      x.status === 'known'
        ? { address: x.address, status: x.status, source: x.source, busy: x.busy.map(period), truncated: x.truncated }
        : { address: x.address, status: x.status, reason: x.reason, detail: x.detail },
    ),
    busy: a.busy.map(period),
    free: a.free.map((f) => ({ start: rfc3339(f.start), end: rfc3339(f.end) })),
  };
}
