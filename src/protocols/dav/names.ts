/**
 * The XML namespaces WebDAV, CalDAV and CardDAV speak (RFC 4918 §21, RFC 4791 §14, RFC 6352 §12),
 * the calendarserver and Apple extensions clients read (getctag, calendar-color), and the prefix
 * each gets in responses.
 */
export const NS = {
  dav: 'DAV:',
  caldav: 'urn:ietf:params:xml:ns:caldav',
  carddav: 'urn:ietf:params:xml:ns:carddav',
  cs: 'http://calendarserver.org/ns/',
  apple: 'http://apple.com/ns/ical/',
} as const;

/** Prefixes used in every response (declared once on the root). */
export const PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['D', NS.dav],
  ['C', NS.caldav],
  ['CR', NS.carddav],
  ['CS', NS.cs],
  ['A', NS.apple],
];

/** A property or element name `{ns}local` (Clark notation). */
export function clark(ns: string, name: string): string {
  return `{${ns}}${name}`;
}
