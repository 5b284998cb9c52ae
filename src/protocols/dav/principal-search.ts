import type { FoundPrincipal, PrincipalQuery } from '../../calendar/principals.ts';
import { DavError } from './errors.ts';
import { document, el, esc, href, status } from './multistatus.ts';
import { clark, NS } from './names.ts';
import { principalCollectionPath } from './paths.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';

/**
 * The principal search reports of RFC 3744 §9.4 (DAV:principal-property-search) and §9.5
 * (DAV:principal-search-property-set) as Apple Calendar, Evolution and Thunderbird use them to
 * look up attendees: display name, calendar-user-address-set (RFC 6638 §2.4.1) and the
 * calendarserver email-address-set and first/last name are searchable, by case-insensitive
 * substring, over the asker's own domain.
 */

/** The most principals one search returns (fewer when the request's DAV:limit asks so). */
export const MAX_PRINCIPALS = 50;
const MAX_TERMS = 10;
const MAX_TEXT = 200;

/** Searchable properties, what each matches, and its description (§9.5). */
const SEARCHABLE: ReadonlyArray<{ ns: string; name: string; field: 'displayname' | 'address'; description: string }> = [
  { ns: NS.dav, name: 'displayname', field: 'displayname', description: 'Display name' },
  { ns: NS.caldav, name: 'calendar-user-address-set', field: 'address', description: 'Calendar user addresses' },
  { ns: NS.cs, name: 'email-address-set', field: 'address', description: 'Email addresses' },
  { ns: NS.cs, name: 'first-name', field: 'displayname', description: 'First name' },
  { ns: NS.cs, name: 'last-name', field: 'displayname', description: 'Last name' },
];
const FIELD = new Map(SEARCHABLE.map((s) => [clark(s.ns, s.name), s.field]));

/** The body of a DAV:principal-search-property-set report (RFC 3744 §9.5). */
export function principalSearchPropertySet(): string {
  return document(
    NS.dav,
    'principal-search-property-set',
    SEARCHABLE.map((s) =>
      el(
        NS.dav,
        'principal-search-property',
        el(NS.dav, 'prop', el(s.ns, s.name)) + `<D:description xml:lang="en">${esc(s.description)}</D:description>`,
      ),
    ).join(''),
  );
}

/**
 * Reads a DAV:principal-property-search body (§9.4): its property-search terms, the test, and the
 * number of results asked for. 400 for no term or an empty match, 403 for a property not searchable.
 */
export function readPrincipalSearch(body: XmlElement): { query: PrincipalQuery; limit: number } {
  const searches = childrenOf(body, NS.dav, 'property-search');
  if (!searches.length || searches.length > MAX_TERMS)
    throw new DavError(400, `a principal-property-search has 1 to ${MAX_TERMS} DAV:property-search elements`);
  const terms: Array<{ field: 'displayname' | 'address'; text: string }> = [];
  for (const s of searches) {
    const text = (child(s, NS.dav, 'match')?.text ?? '').trim().replace(/^mailto:/i, '');
    if (!text || text.length > MAX_TEXT) throw new DavError(400, `each DAV:match holds 1 to ${MAX_TEXT} characters`);
    for (const p of child(s, NS.dav, 'prop')?.children ?? []) {
      const field = FIELD.get(clark(p.ns, p.name));
      if (!field)
        throw new DavError(403, `${p.name.slice(0, 60)} is not searchable (see DAV:principal-search-property-set)`, {
          ns: NS.dav,
          name: 'supported-report',
        });
      terms.push({ field, text });
    }
  }
  if (!terms.length) throw new DavError(400, 'each DAV:property-search names a DAV:prop to search');
  const asked = Number.parseInt(child(child(body, NS.dav, 'limit'), NS.dav, 'nresults')?.text ?? '', 10);
  const limit = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_PRINCIPALS) : MAX_PRINCIPALS;
  // RFC 3744 §9.4: test="anyof" matches any term; the default, allof, every one.
  return { query: { test: body.attrs.test === 'anyof' ? 'anyof' : 'allof', terms }, limit };
}

/** The multistatus responses of found principals, with a 507 for the collection when there were more (RFC 5323 §5.6.2). */
export function principalSearchResults(found: readonly FoundPrincipal[], limit: number, render: (p: FoundPrincipal) => string): string[] {
  const out = found.slice(0, limit).map(render);
  if (found.length > limit) out.push(el(NS.dav, 'response', href(principalCollectionPath) + status(507)));
  return out;
}
