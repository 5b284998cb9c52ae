import { type Selectable, sql } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import {
  ADDRESSBOOK_TABLES,
  bumpModseq,
  type CollectionChanges,
  changesSince,
  checkConditions,
  deleteResource,
  isUniqueViolation,
  PreconditionFailed,
  resourcesByName,
} from '../store/collections.ts';
import { type Db, transaction } from '../store/db.ts';
import type { AddressbookTable, AddressObjectTable } from '../store/schema.ts';
import { AddressbookShares } from './shares.ts';
import type { ParsedVcard } from './vcard.ts';

/**
 * Address books and their vCards in SQL (both dialects), stored byte for byte (RFC 6352 §5.1),
 * with a per-book modseq (CTag and RFC 6578 sync token), tombstones for removed cards, and the
 * lower-cased EMAIL values indexed for the free/busy rule "my contacts".
 */

export interface Addressbook {
  readonly id: number;
  readonly accountId: number;
  readonly name: string;
  readonly displayName: string;
  readonly description: string | null;
  readonly modseq: number;
  readonly updatedAt: number;
  /** Set when another account shared this book with the one looking (src/contacts/shares.ts). */
  readonly shared?: { readonly owner: string; readonly ownerName: string; readonly access: 'read' | 'read-write' };
}

export interface StoredCard {
  readonly id: number;
  readonly addressbookId: number;
  readonly name: string;
  readonly uid: string;
  readonly etag: string;
  readonly vcard: string;
  readonly modseq: number;
  readonly updatedAt: number;
}

/** The address book every account has (made on first access). */
export const DEFAULT_ADDRESSBOOK = 'contacts';

const BOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CARD_NAME = /^[A-Za-z0-9@._+=~-]{1,200}\.vcf$/;

/** Validates an address book name (one URL path segment). */
export function checkBookName(name: string): string {
  if (!BOOK_NAME.test(name)) throw new FingerpostError('invalid_argument', 'an address book name is letters, digits, . _ - (at most 64)');
  return name;
}

/** Validates a card resource name (`something.vcf`). */
export function checkCardName(name: string): string {
  if (!CARD_NAME.test(name))
    throw new FingerpostError(
      'invalid_argument',
      `"${name.slice(0, 80)}" is not a card name (letters, digits, @ . _ + = ~ -, ending in .vcf)`,
    );
  return name;
}

export { PreconditionFailed };

/** An address book row as the owner sees it. */
export function toBook(r: Selectable<AddressbookTable>): Addressbook {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    modseq: r.modseq,
    updatedAt: r.updated_at,
  };
}

function toCard(r: Selectable<AddressObjectTable>): StoredCard {
  return {
    id: r.id,
    addressbookId: r.addressbook_id,
    name: r.name,
    uid: r.uid,
    etag: r.etag,
    vcard: r.vcard,
    modseq: r.modseq,
    updatedAt: r.updated_at,
  };
}

/** The contacts tables. */
export class ContactsStore {
  readonly #db: Db;
  readonly #now: () => number;
  /** Address books shared with other accounts of the domain. */
  readonly shares: AddressbookShares;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.shares = new AddressbookShares(db, now);
  }

  async listBooks(accountId: number): Promise<Addressbook[]> {
    const rows = await this.#db.kysely.selectFrom('addressbooks').selectAll().where('account_id', '=', accountId).orderBy('name').execute();
    return rows.map(toBook);
  }

  async getBook(accountId: number, name: string): Promise<Addressbook | undefined> {
    const row = await this.#db.kysely
      .selectFrom('addressbooks')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toBook(row) : undefined;
  }

  /** Creates an address book; `already_exists` when the name is taken. */
  async createBook(accountId: number, input: { name: string; displayName?: string; description?: string | null }): Promise<Addressbook> {
    checkBookName(input.name);
    const now = this.#now();
    try {
      await this.#db.kysely
        .insertInto('addressbooks')
        .values({
          account_id: accountId,
          name: input.name,
          display_name: input.displayName ?? input.name,
          description: input.description ?? null,
          modseq: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new FingerpostError('already_exists', `an address book named ${input.name} already exists`);
      throw err;
    }
    return (await this.getBook(accountId, input.name))!;
  }

  /** The account's address books, with the default one made when there is none. */
  async ensureDefault(accountId: number): Promise<Addressbook[]> {
    const books = await this.listBooks(accountId);
    if (books.length) return books;
    try {
      await this.createBook(accountId, { name: DEFAULT_ADDRESSBOOK, displayName: 'Contacts' });
    } catch (err) {
      if (!(err instanceof FingerpostError && err.code === 'already_exists')) throw err;
    }
    return this.listBooks(accountId);
  }

  async updateBook(id: number, patch: { displayName?: string; description?: string | null }): Promise<void> {
    const values: Record<string, unknown> = { updated_at: this.#now() };
    if (patch.displayName !== undefined) values.display_name = patch.displayName;
    if (patch.description !== undefined) values.description = patch.description;
    await this.#db.kysely
      .updateTable('addressbooks')
      .set(values as never)
      .set((eb) => ({ modseq: eb('modseq', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  async removeBook(accountId: number, name: string): Promise<boolean> {
    const r = await this.#db.kysely
      .deleteFrom('addressbooks')
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async getCard(bookId: number, name: string): Promise<StoredCard | undefined> {
    const row = await this.#db.kysely
      .selectFrom('address_objects')
      .selectAll()
      .where('addressbook_id', '=', bookId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toCard(row) : undefined;
  }

  /** Every card of a book, at most `limit`. */
  async cards(bookId: number, limit = 100_000): Promise<StoredCard[]> {
    const rows = await this.#db.kysely
      .selectFrom('address_objects')
      .selectAll()
      .where('addressbook_id', '=', bookId)
      .orderBy('name')
      .limit(limit)
      .execute();
    return rows.map(toCard);
  }

  async cardsByName(bookId: number, names: readonly string[]): Promise<StoredCard[]> {
    const rows = await resourcesByName<Selectable<AddressObjectTable>>(this.#db.kysely, ADDRESSBOOK_TABLES, bookId, names);
    return rows.map(toCard);
  }

  /**
   * Stores a card at `name` exactly as sent (HTTP PUT) under If-Match / If-None-Match, refusing a
   * UID another card of the book holds (RFC 6352 §6.3.2.1 no-uid-conflict, `already_exists`).
   */
  async putCard(
    book: Addressbook,
    name: string,
    text: string,
    card: ParsedVcard,
    cond: { ifMatch?: string; ifNoneMatch?: string } = {},
  ): Promise<{ created: boolean; etag: string }> {
    checkCardName(name);
    return transaction(this.#db, async (trx) => {
      const existing = await trx
        .selectFrom('address_objects')
        .select(['id', 'etag'])
        .where('addressbook_id', '=', book.id)
        .where('name', '=', name)
        .executeTakeFirst();
      checkConditions(existing?.etag, cond);
      const clash = await trx
        .selectFrom('address_objects')
        .select('name')
        .where('addressbook_id', '=', book.id)
        .where('uid', '=', card.uid)
        .where('name', '!=', name)
        .executeTakeFirst();
      if (clash)
        throw new FingerpostError('already_exists', `UID ${card.uid.slice(0, 80)} is already used by ${clash.name}`, {
          context: { href: clash.name },
        });
      const modseq = await this.#bump(trx, book.id);
      const now = this.#now();
      const row = {
        addressbook_id: book.id,
        account_id: book.accountId,
        name,
        uid: card.uid,
        etag: card.etag,
        vcard: text,
        size: Buffer.byteLength(text),
        emails: card.emails.length ? `\n${card.emails.join('\n')}\n` : '',
        modseq,
        created_at: now,
        updated_at: now,
      };
      if (existing) {
        const { created_at: _c, ...update } = row;
        await trx.updateTable('address_objects').set(update).where('id', '=', existing.id).execute();
      } else await trx.insertInto('address_objects').values(row).execute();
      return { created: !existing, etag: card.etag };
    });
  }

  async deleteCard(book: Addressbook, name: string, cond: { ifMatch?: string } = {}): Promise<boolean> {
    return transaction(this.#db, (trx) => deleteResource(trx, ADDRESSBOOK_TABLES, book.id, name, cond.ifMatch, this.#now()));
  }

  #bump(trx: Parameters<Parameters<typeof transaction>[1]>[0], bookId: number): Promise<number> {
    return bumpModseq(trx, ADDRESSBOOK_TABLES, bookId, this.#now());
  }

  /** What changed in a book after `since` (RFC 6578 §3.4); 0 lists every card. */
  async changesSince(bookId: number, since: number): Promise<CollectionChanges> {
    return transaction(this.#db, (trx) => changesSince(trx, ADDRESSBOOK_TABLES, bookId, since));
  }

  /** Whether any address book of the account lists `address` as an EMAIL (the "my contacts" rule). */
  async knows(accountId: number, address: string): Promise<boolean> {
    const needle = `%\n${address.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}\n%`;
    const row = await this.#db.kysely
      .selectFrom('address_objects')
      .select('id')
      .where('account_id', '=', accountId)
      .where(sql<boolean>`emails LIKE ${needle} ESCAPE '\\'`)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether any address book of the account lists an address of `domain`. */
  async knowsDomain(accountId: number, domain: string): Promise<boolean> {
    const needle = `%@${domain.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}\n%`;
    const row = await this.#db.kysely
      .selectFrom('address_objects')
      .select('id')
      .where('account_id', '=', accountId)
      .where(sql<boolean>`emails LIKE ${needle} ESCAPE '\\'`)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}
