import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';
import type { Database } from '../store/schema.ts';
import type { LoggedChange } from './logged-write.ts';
import type { MailChange } from './types.ts';

/** A transaction, or the database outside one. */
export type Trx = Transaction<Database> | Kysely<Database>;

/**
 * The one unit of work every mail write runs in: one transaction that alone bumps the account's
 * MODSEQ (RFC 7162 §3.1, which is also every JMAP state, RFC 8620 §5.1) and logs its changes;
 * after commit the change is announced to this node's watchers (IMAP IDLE, JMAP push) and
 * published to the other nodes (src/mail/cluster.ts).
 */
export class UnitOfWork {
  readonly #db: Db;
  readonly #events = new EventEmitter();
  readonly #localListeners = new Set<(change: MailChange) => void>();
  #publish: ((change: MailChange) => void) | undefined;
  /** Transactions that logged a Quota change, so the announcement names the type. */
  readonly #quotaTouched = new WeakSet<object>();

  constructor(db: Db) {
    this.#db = db;
    this.#events.setMaxListeners(0);
  }

  /** Calls `listener` after every committed change to the account; returns an unsubscribe function. */
  watch(accountId: number, listener: (change: MailChange) => void): () => void {
    const key = `a${accountId}`;
    this.#events.on(key, listener);
    return () => this.#events.off(key, listener);
  }

  /**
   * Calls `listener` after every change committed by this process (not those of other nodes), for
   * work that must happen once per change in a cluster, such as queueing push messages.
   */
  onLocalChange(listener: (change: MailChange) => void): () => void {
    this.#localListeners.add(listener);
    return () => this.#localListeners.delete(listener);
  }

  /** Also hands every committed change to `publish` (other nodes learn of it through the events table). */
  publishChangesTo(publish: (change: MailChange) => void): void {
    this.#publish = publish;
  }

  /** Announces a change made elsewhere (another node, seen through the events table). */
  announce(change: MailChange): void {
    this.#events.emit(`a${change.accountId}`, change);
  }

  /** Logs one changed object at `modseq` in the write's transaction. */
  async logChange(
    trx: Trx,
    accountId: number,
    modseq: number,
    type: string,
    objectId: number,
    kind: 'created' | 'updated' | 'destroyed',
  ): Promise<void> {
    await trx.insertInto('changes').values({ account_id: accountId, modseq, type, object_id: objectId, kind }).execute();
  }

  /** Marks the write's transaction as having changed the Quota type (RFC 9425 §5.2), so its announcement says so. */
  quotaChanged(trx: Trx): void {
    this.#quotaTouched.add(trx);
  }

  /**
   * Runs `fn` in one transaction; `modseq()` bumps the account's MODSEQ once and returns it. When
   * it was bumped, the change (of `types`, touching `mailboxIds`) is announced and published after commit.
   */
  async run<T>(
    accountId: number,
    fn: (trx: Transaction<Database>, modseq: () => Promise<number>) => Promise<T>,
    types: string[],
    mailboxIds: Set<number>,
  ): Promise<{ value: T; modseq: number }> {
    let assigned = 0;
    let quota = false;
    const value = await this.#db.kysely.transaction().execute(async (trx) => {
      const nextModseq = async () => {
        if (assigned) return assigned;
        const row = await trx
          .updateTable('accounts')
          .set((eb) => ({ modseq: eb('modseq', '+', 1) }))
          .where('id', '=', accountId)
          .returning('modseq')
          .executeTakeFirst();
        if (!row) throw new FingerpostError('not_found', `account ${accountId} does not exist`);
        assigned = row.modseq;
        return assigned;
      };
      const value = await fn(trx, nextModseq);
      quota = this.#quotaTouched.has(trx);
      return value;
    });
    if (assigned) {
      const change = { accountId, modseq: assigned, mailboxIds: [...mailboxIds], types: quota ? [...types, 'Quota'] : types };
      this.announce(change);
      this.#publish?.(change);
      for (const l of this.#localListeners) l(change);
    }
    return { value, modseq: assigned };
  }

  /**
   * Runs a write to objects kept beside the mail (Identity, EmailSubmission, VacationResponse) in
   * one transaction that bumps the account's MODSEQ and logs `changes` (RFC 8620 §5.2 states) when
   * there are any; the change is announced here and published to other nodes like a mail change.
   */
  async writeLogged<T>(
    accountId: number,
    type: string,
    fn: (trx: Transaction<Database>, modseq: () => Promise<number>) => Promise<{ value: T; changes: readonly LoggedChange[] }>,
  ): Promise<T> {
    const { value } = await this.run(
      accountId,
      async (trx, nextModseq) => {
        const { value, changes } = await fn(trx, nextModseq);
        if (!changes.length) return value;
        const modseq = await nextModseq();
        await trx
          .insertInto('changes')
          .values(changes.map((c) => ({ account_id: accountId, modseq, type, object_id: c.id, kind: c.kind })))
          .execute();
        return value;
      },
      [type],
      new Set(),
    );
    return value;
  }
}
