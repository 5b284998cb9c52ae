import { PreconditionFailed } from '../../store/collections.ts';
import { isFingerpostError } from '../../core/errors.ts';
import { DavError } from './errors.ts';
import { el, esc, type PropResult, statusResponse } from './multistatus.ts';
import { NS } from './names.ts';
import { type DavArea, hrefPath, memberPath, parseDavPath } from './paths.ts';

/**
 * What CalDAV and CardDAV do alike with the members of a collection: reading the hrefs of a
 * multiget report (RFC 4791 §7.9, RFC 6352 §8.7), turning a store's refusal of a write into the
 * DAV answer (RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1), and the all-or-nothing PROPPATCH statuses
 * (RFC 4918 §9.2).
 */

/** The collection a multiget is addressed to. */
export interface MultigetTarget {
  readonly area: DavArea;
  readonly address: string;
  readonly collection: string;
}

/**
 * The member names the hrefs of a multiget name in `target` (name → href as sent), and a 404
 * response for each href outside it. At most `max` hrefs (403 beyond).
 */
export function multigetMembers(
  hrefs: readonly string[],
  origin: string,
  target: MultigetTarget,
  max: number,
): { names: Map<string, string>; outside: string[] } {
  if (hrefs.length > max) throw new DavError(403, `at most ${max} hrefs per multiget`);
  const names = new Map<string, string>();
  const outside: string[] = [];
  for (const raw of hrefs) {
    const h = raw.trim();
    const p = hrefPath(h, origin);
    const parsed = p ? parseDavPath(p) : undefined;
    if (
      parsed?.area === target.area &&
      parsed.address.toLowerCase() === target.address &&
      parsed.collection === target.collection &&
      parsed.member
    )
      names.set(parsed.member, h);
    else outside.push(statusResponse(h, 404));
  }
  return { names, outside };
}

/**
 * Rethrows a store's refusal of a PUT as its DAV error: 412 for a failed If-Match/If-None-Match,
 * 403 `no-uid-conflict` (in `ns`) naming the resource of `collectionPath` that holds the UID.
 */
export function writeRefusal(err: unknown, ns: string, collectionPath: string): never {
  if (err instanceof PreconditionFailed) throw new DavError(412, err.message);
  if (isFingerpostError(err, 'already_exists')) {
    const clash = String((err.context as { href?: string } | undefined)?.href ?? '');
    throw new DavError(403, err.message, {
      ns,
      name: 'no-uid-conflict',
      content: clash ? el(NS.dav, 'href', esc(memberPath(collectionPath, clash))) : undefined,
    });
  }
  throw err;
}

/** Per-property PROPPATCH results: all 200, or the failing statuses with 424 for the rest. */
export function patchResults(statuses: ReadonlyArray<{ prop: { ns: string; name: string }; status: number }>): {
  results: PropResult[];
  ok: boolean;
} {
  const ok = statuses.every((s) => s.status === 200);
  const results = statuses.map(({ prop, status }) => ({
    ns: prop.ns,
    name: prop.name,
    status: ok ? 200 : status === 200 ? 424 : status,
    value: '',
  }));
  return { results, ok };
}
