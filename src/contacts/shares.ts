import type { Db } from '../store/db.ts';
import { ADDRESSBOOK_SHARES, CollectionShares, sharedName } from '../store/shares.ts';
import { type Addressbook, toBook } from './store.ts';

/**
 * Address books shared between accounts of one domain, read or read-write, with the same
 * invite/accept model as calendars (src/store/shares.ts): once accepted, the book appears in
 * the sharee's address-book home under `shared-<id>`.
 */
export class AddressbookShares extends CollectionShares {
  constructor(db: Db, now: () => number = Date.now) {
    super(db, ADDRESSBOOK_SHARES, now);
  }

  /** The address books shared with an account whose invite it accepted (`bookId` narrows to one). */
  async sharedWith(shareeId: number, bookId?: number): Promise<Addressbook[]> {
    let q = this.db.kysely
      .selectFrom('addressbook_shares as s')
      .innerJoin('addressbooks as b', 'b.id', 's.addressbook_id')
      .innerJoin('accounts as a', 'a.id', 'b.account_id')
      .selectAll('b')
      .select(['a.address as owner_address', 's.access as share_access'])
      .where('s.sharee_id', '=', shareeId)
      .where('s.status', '=', 'accepted');
    if (bookId !== undefined) q = q.where('b.id', '=', bookId);
    const rows = await q.orderBy('b.id').execute();
    return rows.map((r) => ({
      ...toBook(r),
      name: sharedName(r.id),
      shared: { owner: r.owner_address, ownerName: r.name, access: r.share_access === 'read-write' ? 'read-write' : 'read' },
    }));
  }
}
