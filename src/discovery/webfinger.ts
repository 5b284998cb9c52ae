import { type Address, tryParseAddress } from '../core/address.ts';
import { RELS } from './client/rels.ts';

/**
 * WebFinger (RFC 7033) server side, pure: the `resource` parameter parsed into an address
 * (RFC 7565 `acct:` and RFC 6068 `mailto:`), the JRD document (§4.4) and `rel` filtering (§4.3).
 */

/** Link relations Fingerpost publishes (shared with the client side). */
export const REL = RELS;

/** The longest `resource` value accepted; longer is answered 400. */
export const MAX_RESOURCE_LENGTH = 512;

export type ResourceParse =
  /** An address at some domain (served or not: the caller decides). */
  | { readonly kind: 'address'; readonly address: Address; readonly scheme: 'acct' | 'mailto' }
  /** A well-formed URI this server never describes (another scheme, or no valid address): 404. */
  | { readonly kind: 'unknown' }
  /** Not a URI at all, or too long: 400. */
  | { readonly kind: 'malformed'; readonly reason: string };

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):(.+)$/s;

function pctDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Parses an already query-decoded `resource` value. For `acct:` the host is what follows the last
 * `@` and the userpart is percent-decoded (RFC 7565 §7), so `acct:bob%2Btag@example.com` and
 * `acct:alice%40example.com@example.com` (a full address as account name) both work.
 */
export function parseResource(resource: string): ResourceParse {
  if (resource.length === 0) return { kind: 'malformed', reason: 'the resource parameter is empty' };
  if (resource.length > MAX_RESOURCE_LENGTH)
    return { kind: 'malformed', reason: `the resource is longer than ${MAX_RESOURCE_LENGTH} characters` };
  if (/[\u0000-\u0020\u007f]/.test(resource)) return { kind: 'malformed', reason: 'the resource contains spaces or control characters' };
  const m = SCHEME_RE.exec(resource);
  if (!m) return { kind: 'malformed', reason: 'the resource is not a URI (expected acct:user@domain)' };
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!.split('#')[0]!;
  if (scheme !== 'acct' && scheme !== 'mailto') return { kind: 'unknown' };
  if (scheme === 'mailto' && /[?,]/.test(rest)) return { kind: 'unknown' };
  const at = rest.lastIndexOf('@');
  if (at <= 0 || at === rest.length - 1) return { kind: 'malformed', reason: `the ${scheme}: URI has no user@host` };
  const user = pctDecode(rest.slice(0, at));
  const host = pctDecode(rest.slice(at + 1));
  if (user === undefined || host === undefined) return { kind: 'malformed', reason: 'the resource has invalid percent-encoding' };
  let candidate = `${user}@${host}`;
  if (user.includes('@')) {
    // an account named by its full address: acct:alice%40example.com@example.com
    const inner = user.slice(user.lastIndexOf('@') + 1).toLowerCase();
    if (inner !== host.toLowerCase()) return { kind: 'unknown' };
    candidate = user;
  }
  const address = tryParseAddress(candidate);
  return address ? { kind: 'address', address, scheme } : { kind: 'unknown' };
}

export interface JrdLink {
  readonly rel: string;
  readonly type?: string;
  readonly href?: string;
  readonly titles?: Readonly<Record<string, string>>;
  readonly properties?: Readonly<Record<string, string | null>>;
}

/** RFC 7033 §4.4 JSON Resource Descriptor. */
export interface Jrd {
  readonly subject: string;
  readonly aliases?: readonly string[];
  readonly properties?: Readonly<Record<string, string | null>>;
  readonly links: readonly JrdLink[];
}

/** §4.3: only links whose rel is one of `rels` (all when `rels` is empty); subject, aliases, properties stay. */
export function filterRels(jrd: Jrd, rels: readonly string[]): Jrd {
  if (rels.length === 0) return jrd;
  const wanted = new Set(rels);
  return { ...jrd, links: jrd.links.filter((l) => wanted.has(l.rel)) };
}
