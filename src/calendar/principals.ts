import { sql } from 'kysely';
import type { Db } from '../store/db.ts';

/**
 * Finding calendar users for an invite dialog (RFC 3744 §9.4 principal-property-search): the
 * enabled accounts of one domain whose display name or address holds each given text,
 * case-insensitively, in address order and at most `limit` of them.
 */

/** A principal found by a search. */
export interface FoundPrincipal {
  readonly address: string;
  readonly displayName: string;
}

/** What to match: per field, the texts; `anyof` matches when one holds, `allof` when all do. */
export interface PrincipalQuery {
  readonly test: 'anyof' | 'allof';
  readonly terms: ReadonlyArray<{ readonly field: 'displayname' | 'address'; readonly text: string }>;
}

const like = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class PrincipalDirectory {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The accounts of domain `domainId` a query matches, at most `limit` (the caller asks for one more to see truncation). */
  async search(domainId: number, query: PrincipalQuery, limit: number): Promise<FoundPrincipal[]> {
    if (!query.terms.length) return [];
    const conds = query.terms.map((t) =>
      t.field === 'displayname'
        ? sql<boolean>`lower(display_name) LIKE ${like(t.text)} ESCAPE '\\'`
        : sql<boolean>`lower(address) LIKE ${like(t.text)} ESCAPE '\\'`,
    );
    const rows = await this.#db.kysely
      .selectFrom('accounts')
      .select(['address', 'display_name'])
      .where('domain_id', '=', domainId)
      .where('disabled', '=', 0)
      .where((eb) => (query.test === 'anyof' ? eb.or(conds) : eb.and(conds)))
      .orderBy('address')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ address: r.address, displayName: r.display_name }));
  }
}
