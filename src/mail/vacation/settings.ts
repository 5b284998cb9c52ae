import type { Db } from '../../store/db.ts';
import type { LoggedWrite } from '../logged-write.ts';

/** An account's automatic reply settings (RFC 8621 §8 VacationResponse), or the disabled default. */
export interface Vacation {
  readonly isEnabled: boolean;
  readonly fromDate: number | null;
  readonly toDate: number | null;
  readonly subject: string | null;
  readonly textBody: string | null;
  readonly htmlBody: string | null;
}

const OFF: Vacation = { isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null };

/** True when the response should be sent at `now` (enabled, inside its date range; RFC 8621 §8). */
export function isActive(v: Vacation, now: number): boolean {
  return v.isEnabled && (v.fromDate === null || now >= v.fromDate) && (v.toDate === null || now < v.toDate);
}

/**
 * The automatic reply settings of each account and who was answered when (RFC 3834 §2). Saving
 * goes through the mail store's one unit of work (src/mail/logged-write.ts), logged as a
 * `VacationResponse` change, and tells this node's auto-responder.
 */
export class VacationSettings {
  readonly #db: Db;
  readonly #write: LoggedWrite;
  readonly #now: () => number;
  readonly #listeners = new Set<(accountId: number) => Promise<void>>();

  constructor(db: Db, write: LoggedWrite, now: () => number) {
    this.#db = db;
    this.#write = write;
    this.#now = now;
  }

  /** Calls `listener` after an account's settings were saved on this node; returns an unsubscribe function. */
  onSaved(listener: (accountId: number) => Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async load(accountId: number): Promise<Vacation> {
    const row = await this.#db.kysely.selectFrom('jmap_vacation').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!row) return OFF;
    return {
      isEnabled: row.is_enabled === 1,
      fromDate: row.from_date,
      toDate: row.to_date,
      subject: row.subject,
      textBody: row.text_body,
      htmlBody: row.html_body,
    };
  }

  /** The accounts whose automatic reply is switched on. */
  async enabledAccounts(): Promise<number[]> {
    const rows = await this.#db.kysely.selectFrom('jmap_vacation').select('account_id').where('is_enabled', '=', 1).execute();
    return rows.map((r) => r.account_id);
  }

  /** Stores the settings; a new period replies to everyone again (RFC 3834 §2). */
  async save(accountId: number, v: Vacation): Promise<void> {
    const row = {
      is_enabled: v.isEnabled ? 1 : 0,
      from_date: v.fromDate,
      to_date: v.toDate,
      subject: v.subject,
      text_body: v.textBody,
      html_body: v.htmlBody,
      updated_at: this.#now(),
    };
    await this.#write(accountId, 'VacationResponse', async (trx) => {
      const r = await trx.updateTable('jmap_vacation').set(row).where('account_id', '=', accountId).executeTakeFirst();
      if (!Number(r.numUpdatedRows))
        await trx
          .insertInto('jmap_vacation')
          .values({ account_id: accountId, ...row })
          .execute();
      await trx.deleteFrom('jmap_vacation_replies').where('account_id', '=', accountId).execute();
      return { value: undefined, changes: [{ id: 0, kind: 'updated' }] };
    });
    for (const l of this.#listeners) await l(accountId);
  }

  /**
   * Records a reply to `sender` unless one went out within `periodMs` (RFC 3834 §2); true when
   * this node may send it. The record is in the store, so several nodes do not all answer.
   */
  claimReply(accountId: number, sender: string, now: number, periodMs: number): Promise<boolean> {
    const key = sender.toLowerCase();
    return this.#db.kysely.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('jmap_vacation_replies')
        .select('sent_at')
        .where('account_id', '=', accountId)
        .where('sender', '=', key)
        .executeTakeFirst();
      if (row && row.sent_at > now - periodMs) return false;
      if (row)
        await trx
          .updateTable('jmap_vacation_replies')
          .set({ sent_at: now })
          .where('account_id', '=', accountId)
          .where('sender', '=', key)
          .execute();
      else await trx.insertInto('jmap_vacation_replies').values({ account_id: accountId, sender: key, sent_at: now }).execute();
      return true;
    });
  }
}
