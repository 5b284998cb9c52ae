import {
  CARD_COLLATIONS,
  type CardFilter,
  type CardPropFilter,
  type CardTextMatch,
  cardMatches,
  type MatchType,
} from '../../contacts/query.ts';
import {
  type Addressbook,
  PreconditionFailed,
  type ContactsStore,
  checkBookName,
  checkCardName,
  type StoredCard,
} from '../../contacts/store.ts';
import { parseVcard, VcardError, vcardLines } from '../../contacts/vcard.ts';
import { isFingerpostError } from '../../core/errors.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';
import { type PropSelection, type ResponseWriter, selection } from './caldav.ts';
import { DavError } from './errors.ts';
import { multigetMembers, patchResults, writeRefusal } from './members.ts';
import { el, esc, multistatus, type PropResult, propResponse, statusResponse } from './multistatus.ts';
import { clark, NS } from './names.ts';
import { addressbookPath, memberPath } from './paths.ts';
import type { DavResource } from './resources.ts';
import { syncToken, tokenModseq } from './sync.ts';
import { child, childrenOf, type XmlElement } from './xml.ts';
import { TimeSlice } from '../../core/time-slice.ts';

/**
 * CardDAV (RFC 6352): address books made by extended MKCOL (§6.3.1), their properties by
 * PROPPATCH, vCards stored byte for byte by PUT with strong ETags and preconditions (§6.3.2),
 * DELETE, and the addressbook-query, addressbook-multiget (§8.6, §8.7) and sync-collection
 * (RFC 6578) reports.
 */

function bookPatch(updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>): {
  patch: { displayName?: string; description?: string | null };
  results: PropResult[];
  ok: boolean;
} {
  const patch: { displayName?: string; description?: string | null } = {};
  const statuses = updates.map((u) => {
    const key = clark(u.prop.ns, u.prop.name);
    let status = 403;
    if (key === clark(NS.dav, 'displayname') && u.prop.text.length <= 200) {
      patch.displayName = u.remove ? '' : u.prop.text.trim();
      status = 200;
    } else if (key === clark(NS.carddav, 'addressbook-description') && u.prop.text.length <= 2000) {
      patch.description = u.remove ? null : u.prop.text;
      status = 200;
    } else if (key === clark(NS.dav, 'resourcetype')) status = 200;
    return { u, status };
  });
  return { patch, ...patchResults(statuses.map(({ u, status }) => ({ prop: u.prop, status }))) };
}

function textMatch(e: XmlElement): CardTextMatch {
  const collation = e.attrs.collation ?? 'i;unicode-casemap';
  if (!CARD_COLLATIONS.has(collation))
    throw new DavError(403, `collation ${collation.slice(0, 40)} is not supported`, { ns: NS.carddav, name: 'supported-collation' });
  const matchType = (e.attrs['match-type'] ?? 'contains') as MatchType;
  if (!['equals', 'contains', 'starts-with', 'ends-with'].includes(matchType))
    throw new DavError(400, 'match-type is equals, contains, starts-with or ends-with', { ns: NS.carddav, name: 'supported-filter' });
  return { text: e.text, collation, negate: e.attrs['negate-condition'] === 'yes', matchType };
}

function propFilter(e: XmlElement): CardPropFilter {
  const name = e.attrs.name;
  if (!name || name.length > 100) throw new DavError(400, 'prop-filter needs a name', { ns: NS.carddav, name: 'supported-filter' });
  return {
    name,
    test: e.attrs.test === 'allof' ? 'allof' : 'anyof',
    isNotDefined: child(e, NS.carddav, 'is-not-defined') !== undefined,
    textMatches: childrenOf(e, NS.carddav, 'text-match').map(textMatch),
    params: childrenOf(e, NS.carddav, 'param-filter').map((p) => {
      const tm = child(p, NS.carddav, 'text-match');
      return {
        name: p.attrs.name ?? '',
        isNotDefined: child(p, NS.carddav, 'is-not-defined') !== undefined,
        ...(tm ? { textMatch: textMatch(tm) } : {}),
      };
    }),
  };
}

/** Reads CARDDAV:filter (RFC 6352 §10.5). */
export function parseCardFilter(filter: XmlElement | undefined): CardFilter {
  return { test: filter?.attrs.test === 'allof' ? 'allof' : 'anyof', props: childrenOf(filter, NS.carddav, 'prop-filter').map(propFilter) };
}

/** The CardDAV operations. */
export class CardDav {
  readonly #store: ContactsStore;
  readonly #base: string;
  readonly #maxBytes: number;
  readonly #maxResults: number;

  constructor(options: { store: ContactsStore; publicUrl: string; maxBytes: number; maxResults?: number }) {
    this.#store = options.store;
    this.#base = options.publicUrl;
    this.#maxBytes = options.maxBytes;
    this.#maxResults = options.maxResults ?? 10_000;
  }

  get store(): ContactsStore {
    return this.#store;
  }

  token(id: number, modseq: number): string {
    return syncToken(this.#base, 'addressbook', id, modseq);
  }

  /** Extended MKCOL of an address book (RFC 6352 §6.3.1). */
  async makeBook(
    account: DirectoryAccount,
    name: string,
    updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>,
  ): Promise<{ ok: true } | { ok: false; results: PropResult[] }> {
    try {
      checkBookName(name);
    } catch (err) {
      throw new DavError(403, (err as Error).message);
    }
    const { patch, results, ok } = bookPatch(updates);
    if (!ok) return { ok: false, results };
    try {
      await this.#store.createBook(account.id, { name, displayName: patch.displayName || name, description: patch.description ?? null });
    } catch (err) {
      if (isFingerpostError(err, 'already_exists')) throw new DavError(405, 'an address book by that name exists');
      throw err;
    }
    return { ok: true };
  }

  async patchBook(book: Addressbook, path: string, updates: ReadonlyArray<{ prop: XmlElement; remove: boolean }>): Promise<string> {
    const { patch, results, ok } = bookPatch(updates);
    if (ok && Object.keys(patch).length) await this.#store.updateBook(book.id, patch);
    return multistatus([propResponse(path, results)]);
  }

  /** PUT of a vCard (RFC 6352 §6.3.2): checked, then stored byte for byte. */
  async put(
    account: DirectoryAccount,
    book: Addressbook,
    name: string,
    contentType: string,
    body: Buffer,
    cond: { ifMatch?: string; ifNoneMatch?: string },
  ): Promise<{ created: boolean; etag: string }> {
    readOnlyBook(book);
    try {
      checkCardName(name);
    } catch (err) {
      throw new DavError(400, (err as Error).message);
    }
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (type !== 'text/vcard' && type !== 'text/x-vcard')
      throw new DavError(415, 'send address objects as text/vcard', { ns: NS.carddav, name: 'supported-address-data' });
    if (body.length > this.#maxBytes)
      throw new DavError(413, `the vCard is larger than ${this.#maxBytes} bytes`, { ns: NS.carddav, name: 'max-resource-size' });
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new DavError(415, 'the vCard is not UTF-8', { ns: NS.carddav, name: 'supported-address-data' });
    }
    let parsed: ReturnType<typeof parseVcard>;
    try {
      parsed = parseVcard(text);
    } catch (err) {
      if (err instanceof VcardError) throw new DavError(400, err.message, { ns: NS.carddav, name: 'valid-address-data' });
      throw err;
    }
    try {
      return await this.#store.putCard(book, name, text, parsed, cond);
    } catch (err) {
      writeRefusal(err, NS.carddav, addressbookPath(account.address, book.name));
    }
  }

  async deleteCard(book: Addressbook, name: string, ifMatch: string | undefined): Promise<void> {
    readOnlyBook(book);
    try {
      if (!(await this.#store.deleteCard(book, name, { ifMatch }))) throw new DavError(404, 'no such address object');
    } catch (err) {
      if (err instanceof PreconditionFailed) throw new DavError(412, err.message);
      throw err;
    }
  }

  /** A REPORT on an address book. */
  async report(
    account: DirectoryAccount,
    book: Addressbook,
    body: XmlElement,
    origin: string,
    writer: ResponseWriter,
  ): Promise<{ status: number; type: string; text: string }> {
    const path = addressbookPath(account.address, book.name);
    const respond = (c: StoredCard, sel: PropSelection) =>
      writer.response(memberPath(path, c.name), { kind: 'address-object', account, book, name: c.name, card: c }, sel);
    const xml = (text: string) => ({ status: 207, type: 'application/xml; charset=utf-8', text });
    if (body.ns === NS.carddav && body.name === 'addressbook-query') {
      const filter = parseCardFilter(child(body, NS.carddav, 'filter'));
      const limitEl = child(child(body, NS.carddav, 'limit'), NS.carddav, 'nresults');
      const limit = Math.min(this.#maxResults, limitEl ? Math.max(0, Number.parseInt(limitEl.text, 10) || 0) : this.#maxResults);
      const sel = selection(body);
      const cards = await this.#store.cards(book.id, 1_000_000);
      const out: string[] = [];
      let truncated = false;
      const slice = new TimeSlice(10);
      for (const c of cards) {
        if (slice.due()) await slice.turn();
        let ok = false;
        try {
          ok = cardMatches(vcardLines(c.vcard), filter);
        } catch {
          ok = false;
        }
        if (!ok) continue;
        if (out.length >= limit) {
          truncated = true;
          break;
        }
        out.push(respond(c, sel));
      }
      // RFC 6352 §8.6.1: a truncated answer says so with a 507 for the collection.
      if (truncated)
        out.push(el(NS.dav, 'response', `${el(NS.dav, 'href', esc(path))}${el(NS.dav, 'status', 'HTTP/1.1 507 Insufficient Storage')}`));
      return xml(multistatus(out));
    }
    if (body.ns === NS.carddav && body.name === 'addressbook-multiget') {
      const sel = selection(body);
      const hrefs = childrenOf(body, NS.dav, 'href').map((h) => h.text);
      const target = { area: 'addressbooks', address: account.address, collection: book.name } as const;
      const { names, outside: out } = multigetMembers(hrefs, origin, target, this.#maxResults);
      const found = new Map((await this.#store.cardsByName(book.id, [...names.keys()])).map((c) => [c.name, c]));
      for (const [name, h] of names) {
        const c = found.get(name);
        out.push(c ? respond(c, sel) : statusResponse(h, 404));
      }
      return xml(multistatus(out));
    }
    if (body.ns === NS.dav && body.name === 'sync-collection') {
      const since = tokenModseq(child(body, NS.dav, 'sync-token')?.text ?? '', 'addressbook', book.id, book.modseq);
      const changes = await this.#store.changesSince(book.id, since);
      const sel = selection(body);
      const out = (
        await this.#store.cardsByName(
          book.id,
          changes.changed.map((c) => c.name),
        )
      ).map((c) => respond(c, sel));
      for (const name of changes.removed) out.push(statusResponse(memberPath(path, name), 404));
      return xml(multistatus(out, this.token(book.id, changes.modseq)));
    }
    throw new DavError(403, `the ${body.name.slice(0, 40)} report is not supported on an address book`, {
      ns: NS.dav,
      name: 'supported-report',
    });
  }
}

/** CARDDAV:address-data of an address object (RFC 6352 §10.4), the stored text. */
export function addressData(res: DavResource, ns: string, name: string): string | undefined {
  if (res.kind !== 'address-object' || !res.card || ns !== NS.carddav || name !== 'address-data') return undefined;
  return esc(res.card.vcard);
}

/** 403 need-privileges (RFC 3744 §7.1.1) for a write to an address book shared with the user read-only. */
function readOnlyBook(book: Addressbook): void {
  if (book.shared?.access === 'read')
    throw new DavError(403, 'this address book is shared with you read-only', { ns: NS.dav, name: 'need-privileges' });
}
