import { sql } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { Db } from './db.ts';

/**
 * Collections (calendars, address books) shared between accounts of one domain, read or
 * read-write, as CalDAV/CardDAV clients know it from the calendarserver sharing extension
 * (CS:share, CS:invite, CS:invite-notification, CS:invite-reply): a share starts as an invite;
 * once the sharee accepts it, the collection appears in the sharee's home under `shared-<id>`.
 */

export type ShareAccess = 'read' | 'read-write';
/** The sharee's answer to the invite (CS:invite-noresponse, -accepted, -declined). */
export type ShareStatus = 'pending' | 'accepted' | 'declined';

/** One sharee of a collection. */
export interface Share {
  readonly address: string;
  readonly displayName: string;
  readonly access: ShareAccess;
  readonly status: ShareStatus;
}

/** An invite as its sharee sees it (the CS:invite-notification). */
export interface Invite {
  readonly type: ShareKind['type'];
  readonly collectionId: number;
  readonly owner: string;
  readonly ownerDisplayName: string;
  /** The owner's name of the collection (the CS:hosturl segment). */
  readonly collectionName: string;
  readonly displayName: string;
  readonly access: ShareAccess;
  readonly status: ShareStatus;
  readonly summary: string;
  readonly createdAt: number;
}

/** The segment under which a sharee's home shows a collection shared with it. */
export const sharedName = (collectionId: number) => `shared-${collectionId}`;

const accessOf = (v: string): ShareAccess => (v === 'read-write' ? 'read-write' : 'read');
const statusOf = (v: string): ShareStatus => (v === 'pending' || v === 'declined' ? v : 'accepted');

/** At most this many sharees per collection. */
export const MAX_SHAREES = 200;

/** Which collections a share table is about. */
export interface ShareKind {
  readonly type: 'calendar' | 'addressbook';
  readonly table: 'calendar_shares' | 'addressbook_shares';
  readonly column: 'calendar_id' | 'addressbook_id';
  readonly owners: 'calendars' | 'addressbooks';
}

export const CALENDAR_SHARES: ShareKind = { type: 'calendar', table: 'calendar_shares', column: 'calendar_id', owners: 'calendars' };
export const ADDRESSBOOK_SHARES: ShareKind = {
  type: 'addressbook',
  table: 'addressbook_shares',
  column: 'addressbook_id',
  owners: 'addressbooks',
};

/** The sharees of one kind of collection (the same SQL in both dialects). */
export class CollectionShares {
  protected readonly db: Db;
  protected readonly kind: ShareKind;
  readonly #now: () => number;

  constructor(db: Db, kind: ShareKind, now: () => number = Date.now) {
    this.db = db;
    this.kind = kind;
    this.#now = now;
  }

  get #t() {
    return sql.table(this.kind.table);
  }

  get #col() {
    return sql.ref(`s.${this.kind.column}`);
  }

  /** The sharees of a collection, by address, with their answers. */
  async list(collectionId: number): Promise<Share[]> {
    const { rows } = await sql<{ address: string; display_name: string; access: string; status: string }>`
      select a.address, a.display_name, s.access, s.status from ${this.#t} as s
      inner join accounts as a on a.id = s.sharee_id where ${this.#col} = ${collectionId} order by a.address`.execute(this.db.kysely);
    return rows.map((r) => ({ address: r.address, displayName: r.display_name, access: accessOf(r.access), status: statusOf(r.status) }));
  }

  /**
   * Invites the account at `address` to `collection` (or changes its access; a declined invite is
   * sent again). Only accounts of the owner's own domain, never the owner itself; `not_found` for
   * an unknown address. Returns whether a new invite was made.
   */
  async share(collection: { id: number; accountId: number }, address: string, access: ShareAccess, summary = ''): Promise<boolean> {
    const k = this.db.kysely;
    const owner = await k
      .selectFrom('accounts')
      .select(['domain_id', 'id'])
      .where('id', '=', collection.accountId)
      .executeTakeFirstOrThrow();
    const sharee = await k
      .selectFrom('accounts')
      .select(['id', 'domain_id', 'disabled'])
      .where('address', '=', address.toLowerCase())
      .executeTakeFirst();
    if (!sharee || sharee.disabled) throw new FingerpostError('not_found', `no account ${address.slice(0, 200)}`);
    if (sharee.domain_id !== owner.domain_id || sharee.id === owner.id)
      throw new FingerpostError('forbidden', `${this.kind.owners} are shared only with other accounts of the same domain`);
    const note = summary.slice(0, 500);
    const { rows } = await sql<{ status: string }>`
      select s.status from ${this.#t} as s where ${this.#col} = ${collection.id} and s.sharee_id = ${sharee.id}`.execute(k);
    if (rows[0]) {
      const status = rows[0].status === 'declined' ? 'pending' : rows[0].status;
      await sql`update ${this.#t} set access = ${access}, status = ${status}, summary = ${note}
        where ${sql.ref(this.kind.column)} = ${collection.id} and sharee_id = ${sharee.id}`.execute(k);
      return status === 'pending' && rows[0].status === 'declined';
    }
    const { rows: count } = await sql<{ n: number | string }>`
      select count(*) as n from ${this.#t} as s where ${this.#col} = ${collection.id}`.execute(k);
    if (Number(count[0]?.n ?? 0) >= MAX_SHAREES)
      throw new FingerpostError('limit_exceeded', `a collection is shared with at most ${MAX_SHAREES} accounts`);
    await sql`insert into ${this.#t} (${sql.ref(this.kind.column)}, sharee_id, access, status, summary, created_at)
      values (${collection.id}, ${sharee.id}, ${access}, 'pending', ${note}, ${this.#now()})`.execute(k);
    return true;
  }

  /** Ends a share (by the owner naming the sharee, or the sharee removing it from its home). */
  async unshare(collectionId: number, shareeAddressOrId: string | number): Promise<boolean> {
    let id = typeof shareeAddressOrId === 'number' ? shareeAddressOrId : undefined;
    if (id === undefined) {
      const row = await this.db.kysely
        .selectFrom('accounts')
        .select('id')
        .where('address', '=', String(shareeAddressOrId).toLowerCase())
        .executeTakeFirst();
      if (!row) return false;
      id = row.id;
    }
    const r = await sql`delete from ${this.#t} where ${sql.ref(this.kind.column)} = ${collectionId} and sharee_id = ${id}`.execute(
      this.db.kysely,
    );
    return Number(r.numAffectedRows ?? 0) > 0;
  }

  /**
   * The sharee's answer to an invite (CS:invite-reply): accepted or declined. False when there is
   * no share of that collection with the sharee.
   */
  async reply(collectionId: number, shareeId: number, accept: boolean): Promise<boolean> {
    const r = await sql`update ${this.#t} set status = ${accept ? 'accepted' : 'declined'}
      where ${sql.ref(this.kind.column)} = ${collectionId} and sharee_id = ${shareeId}`.execute(this.db.kysely);
    return Number(r.numAffectedRows ?? 0) > 0;
  }

  /** The invites of a sharee not yet answered (`collectionId` narrows to one, whatever its status), at most `limit`. */
  async invites(shareeId: number, collectionId?: number, limit = 500): Promise<Invite[]> {
    const only = collectionId === undefined ? sql`s.status = 'pending'` : sql`${this.#col} = ${collectionId}`;
    const { rows } = await sql<{
      id: number;
      name: string;
      display_name: string;
      owner: string;
      owner_name: string;
      access: string;
      status: string;
      summary: string;
      created_at: number;
    }>`select c.id, c.name, c.display_name, a.address as owner, a.display_name as owner_name, s.access, s.status, s.summary, s.created_at
      from ${this.#t} as s inner join ${sql.table(this.kind.owners)} as c on c.id = ${this.#col}
      inner join accounts as a on a.id = c.account_id
      where s.sharee_id = ${shareeId} and ${only} order by ${this.#col} limit ${limit}`.execute(this.db.kysely);
    return rows.map((r) => ({
      type: this.kind.type,
      collectionId: Number(r.id),
      owner: r.owner,
      ownerDisplayName: r.owner_name,
      collectionName: r.name,
      displayName: r.display_name,
      access: accessOf(r.access),
      status: statusOf(r.status),
      summary: r.summary,
      createdAt: Number(r.created_at),
    }));
  }
}
