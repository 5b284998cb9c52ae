import type { Selectable } from 'kysely';
import type { Db } from '../store/db.ts';
import type { JmapIdentityTable } from '../store/schema.ts';
import type { LoggedWrite } from './logged-write.ts';

/** A stored sending identity (RFC 8621 §6). `reply_to` and `bcc` hold JSON EmailAddress[] or null. */
export type IdentityRow = Selectable<JmapIdentityTable>;

/** An address with an optional display name, as Identity `replyTo` / `bcc` hold them (RFC 8621 §4.1.2.3). */
export interface NamedAddress {
  readonly name: string | null;
  readonly email: string;
}

/** The settable values of an Identity (RFC 8621 §6); `email` is fixed once created. */
export interface IdentityValues {
  readonly name: string;
  readonly email: string;
  readonly replyTo: readonly NamedAddress[] | null;
  readonly bcc: readonly NamedAddress[] | null;
  readonly textSignature: string;
  readonly htmlSignature: string;
}

function json(list: readonly NamedAddress[] | null): string | null {
  return list === null ? null : JSON.stringify(list.map((a) => ({ name: a.name, email: a.email })));
}

/**
 * An account's sending identities (RFC 8621 §6), kept beside its mail; every write goes through
 * the mail store's one unit of work (src/mail/logged-write.ts), so it bumps MODSEQ, is logged
 * as an `Identity` change, and reaches every node's push clients.
 */
export class Identities {
  readonly #db: Db;
  readonly #write: LoggedWrite;
  readonly #now: () => number;

  constructor(db: Db, write: LoggedWrite, now: () => number) {
    this.#db = db;
    this.#write = write;
    this.#now = now;
  }

  /** The account's identities, oldest first. */
  list(accountId: number): Promise<IdentityRow[]> {
    return this.#db.kysely.selectFrom('jmap_identities').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
  }

  /** Creates one identity per address in `emails` named `name`, unless the account already has any. */
  async ensureDefaults(accountId: number, name: string, emails: readonly string[]): Promise<void> {
    await this.#write(accountId, 'Identity', async (trx) => {
      // Checked inside the transaction: two first requests must not both create the defaults.
      const again = await trx.selectFrom('jmap_identities').select('id').where('account_id', '=', accountId).limit(1).execute();
      if (again.length) return { value: undefined, changes: [] };
      const changes = [];
      for (const email of emails) {
        const id = await this.#insert(trx, accountId, { name, email, replyTo: null, bcc: null, textSignature: '', htmlSignature: '' });
        changes.push({ id, kind: 'created' as const });
      }
      return { value: undefined, changes };
    });
  }

  async #insert(trx: Parameters<Parameters<LoggedWrite>[2]>[0], accountId: number, v: IdentityValues): Promise<number> {
    const row = await trx
      .insertInto('jmap_identities')
      .values({
        account_id: accountId,
        name: v.name,
        email: v.email,
        reply_to: json(v.replyTo),
        bcc: json(v.bcc),
        text_signature: v.textSignature,
        html_signature: v.htmlSignature,
        created_at: this.#now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Creates an identity; resolves with its id. */
  create(accountId: number, v: IdentityValues): Promise<number> {
    return this.#write(accountId, 'Identity', async (trx) => {
      const id = await this.#insert(trx, accountId, v);
      return { value: id, changes: [{ id, kind: 'created' }] };
    });
  }

  /** Updates every value of identity `id` but its email. */
  update(accountId: number, id: number, v: Omit<IdentityValues, 'email'>): Promise<void> {
    return this.#write(accountId, 'Identity', async (trx) => {
      await trx
        .updateTable('jmap_identities')
        .set({
          name: v.name,
          reply_to: json(v.replyTo),
          bcc: json(v.bcc),
          text_signature: v.textSignature,
          html_signature: v.htmlSignature,
        })
        .where('id', '=', id)
        .where('account_id', '=', accountId)
        .execute();
      return { value: undefined, changes: [{ id, kind: 'updated' }] };
    });
  }

  /** Removes identity `id`. */
  destroy(accountId: number, id: number): Promise<void> {
    return this.#write(accountId, 'Identity', async (trx) => {
      await trx.deleteFrom('jmap_identities').where('id', '=', id).where('account_id', '=', accountId).execute();
      return { value: undefined, changes: [{ id, kind: 'destroyed' }] };
    });
  }
}

/**
 * The account's primary identity: the first one with its own address (RFC 8621 §6 `mayDelete`:
 * only this one is kept; other identities with the same address may be destroyed).
 */
export function primaryIdentityId(rows: readonly IdentityRow[], primaryAddress: string): number | undefined {
  const lower = primaryAddress.toLowerCase();
  return rows
    .filter((r) => r.email.toLowerCase() === lower)
    .reduce<number | undefined>((min, r) => (min === undefined || r.id < min ? r.id : min), undefined);
}
