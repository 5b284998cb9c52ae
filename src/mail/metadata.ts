import type { Db } from '../store/db.ts';
import type { LoggedWrite } from './logged-write.ts';

/** Bounds on METADATA (RFC 5464 §4.3): the largest value and the most entries one account keeps. */
export interface MetadataLimits {
  readonly maxSize: number;
  readonly maxEntries: number;
}

/** One entry: its lower-case name and value octets. */
export interface MetadataEntry {
  readonly name: string;
  readonly value: Buffer;
}

/** Why a SETMETADATA was refused (RFC 5464 §4.3 response codes). */
export type MetadataRefusal = { readonly code: 'MAXSIZE'; readonly max: number } | { readonly code: 'TOOMANY' };

/** One stored entry of an account with where it belongs (0: the server) and its value as stored. */
export interface StoredMetadata {
  readonly mailboxId: number;
  readonly name: string;
  readonly value: string;
}

/**
 * Server and mailbox annotations (IMAP METADATA, RFC 5464) of an account: `mailboxId` 0 names the
 * server. Reads return entries exactly as stored; a write sets or removes several entries in one
 * transaction, all or none, within the size and count bounds, and is logged as a `Metadata`
 * change so sessions (NOTIFY MailboxMetadataChange/ServerMetadataChange, RFC 5465 §5.9, §5.10)
 * learn of it on every node.
 */
export class MetadataStore {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #write: LoggedWrite;

  constructor(db: Db, now: () => number, write: LoggedWrite) {
    this.#db = db;
    this.#now = now;
    this.#write = write;
  }

  /** Every entry of an account, server and mailboxes, by mailbox and name. */
  async all(accountId: number): Promise<StoredMetadata[]> {
    const rows = await this.#db.kysely
      .selectFrom('mail_metadata')
      .select(['mailbox_id', 'name', 'value'])
      .where('account_id', '=', accountId)
      .orderBy('mailbox_id')
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ mailboxId: r.mailbox_id, name: r.name, value: r.value }));
  }

  /**
   * The entries named, and with `depth` 1 or infinity their children or all descendants
   * (RFC 5464 §4.2.2), ordered by name.
   */
  async get(accountId: number, mailboxId: number, names: readonly string[], depth: 0 | 1 | 'infinity'): Promise<MetadataEntry[]> {
    const rows = await this.#db.kysely
      .selectFrom('mail_metadata')
      .select(['name', 'value'])
      .where('account_id', '=', accountId)
      .where('mailbox_id', '=', mailboxId)
      .orderBy('name')
      .execute();
    const wanted = (name: string) =>
      names.some((n) => {
        if (name === n) return true;
        if (depth === 0 || !name.startsWith(`${n}/`)) return false;
        return depth === 'infinity' || !name.slice(n.length + 1).includes('/');
      });
    return rows.filter((r) => wanted(r.name)).map((r) => ({ name: r.name, value: Buffer.from(r.value, 'base64') }));
  }

  /** Sets (value) or removes (null) entries in one transaction; null when done, else why not. */
  async set(
    accountId: number,
    mailboxId: number,
    entries: ReadonlyArray<{ name: string; value: Buffer | null }>,
    limits: MetadataLimits,
  ): Promise<MetadataRefusal | null> {
    for (const e of entries) if (e.value && e.value.length > limits.maxSize) return { code: 'MAXSIZE', max: limits.maxSize };
    const now = this.#now();
    return this.#write(accountId, 'Metadata', async (trx, modseq) => {
      for (const e of entries) {
        await trx
          .deleteFrom('mail_metadata')
          .where('account_id', '=', accountId)
          .where('mailbox_id', '=', mailboxId)
          .where('name', '=', e.name)
          .execute();
        if (e.value)
          await trx
            .insertInto('mail_metadata')
            .values({
              account_id: accountId,
              mailbox_id: mailboxId,
              name: e.name,
              value: e.value.toString('base64'),
              size: e.value.length,
              updated_at: now,
            })
            .execute();
      }
      const count = await trx
        .selectFrom('mail_metadata')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('account_id', '=', accountId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) > limits.maxEntries) throw new TooMany();
      // A mailbox's annotations are part of its state for QRESYNC: its HIGHESTMODSEQ moves (RFC
      // 7162 §3.2) to the MODSEQ this write is logged under.
      if (mailboxId !== 0 && entries.length > 0) {
        const next = await modseq();
        await trx
          .updateTable('mailboxes')
          .set({ highest_modseq: next })
          .where('id', '=', mailboxId)
          .where('highest_modseq', '<', next)
          .execute();
      }
      return { value: null, changes: entries.length ? [{ id: mailboxId, kind: 'updated' as const }] : [] };
    }).catch((err: unknown) => {
      if (err instanceof TooMany) return { code: 'TOOMANY' } as const;
      throw err;
    });
  }

  /** Removes a deleted mailbox's entries (RFC 5464 §3.2: they go with the mailbox). */
  async dropMailbox(accountId: number, mailboxId: number): Promise<void> {
    await this.#db.kysely.deleteFrom('mail_metadata').where('account_id', '=', accountId).where('mailbox_id', '=', mailboxId).execute();
  }
}

class TooMany extends Error {}
