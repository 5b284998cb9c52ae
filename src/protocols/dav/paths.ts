/**
 * The URL layout of the DAV tree under `/dav/` (RFC 4918 §5.2: collections end in `/`):
 * principals, calendar homes (RFC 4791 §6.2.1) and address-book homes (RFC 6352 §7.1.1) per
 * account, their collections and member resources.
 */

export const DAV_ROOT = '/dav/';

export type DavArea = 'principals' | 'calendars' | 'addressbooks';

/** A parsed request path. */
export type DavPath =
  | { readonly area: 'root' }
  /** `/dav/principals/`, the principal collection (RFC 3744 §5.8) that principal searches address. */
  | { readonly area: 'principal-collection' }
  | { readonly area: DavArea; readonly address: string; readonly collection?: string; readonly member?: string };

/** Encodes one path segment (keeps `@`, which RFC 3986 §3.3 allows in a segment). */
export function segment(s: string): string {
  return encodeURIComponent(s).replace(/%40/g, '@');
}

/**
 * Parses the path of a request URL (query removed); undefined when it is outside the tree or
 * deeper than a member. `/` and `/dav` count as the root so discovery from the bare URL works.
 */
export function parseDavPath(pathname: string): DavPath | undefined {
  if (pathname === '/' || pathname === '/dav' || pathname === DAV_ROOT) return { area: 'root' };
  if (!pathname.startsWith(DAV_ROOT)) return undefined;
  const parts = pathname.slice(DAV_ROOT.length).split('/');
  if (parts.at(-1) === '') parts.pop();
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  if (decoded.some((p) => p === '' || p === '.' || p === '..' || p.includes('/'))) return undefined;
  const [area, address, collection, member, ...rest] = decoded;
  if (area === 'principals' && address === undefined) return { area: 'principal-collection' };
  if (rest.length || (area !== 'principals' && area !== 'calendars' && area !== 'addressbooks') || !address) return undefined;
  if (area === 'principals' && collection !== undefined) return undefined;
  return { area, address, ...(collection !== undefined ? { collection } : {}), ...(member !== undefined ? { member } : {}) };
}

export const principalCollectionPath = `${DAV_ROOT}principals/`;
export const principalPath = (address: string) => `${DAV_ROOT}principals/${segment(address)}/`;
export const calendarHomePath = (address: string) => `${DAV_ROOT}calendars/${segment(address)}/`;
export const calendarPath = (address: string, name: string) => `${calendarHomePath(address)}${segment(name)}/`;
export const addressbookHomePath = (address: string) => `${DAV_ROOT}addressbooks/${segment(address)}/`;
export const addressbookPath = (address: string, name: string) => `${addressbookHomePath(address)}${segment(name)}/`;
export const inboxPath = (address: string) => `${calendarHomePath(address)}inbox/`;
export const outboxPath = (address: string) => `${calendarHomePath(address)}outbox/`;
export const notificationsPath = (address: string) => `${calendarHomePath(address)}notification/`;
export const memberPath = (collection: string, name: string) => `${collection}${segment(name)}`;

/** The path part of an href from a request body: an absolute URL's path or the path itself. */
export function hrefPath(href: string, origin: string): string | undefined {
  const u = URL.parse(href.trim(), `${origin}/`);
  return u ? u.pathname : undefined;
}
