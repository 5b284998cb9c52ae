import type { Db } from '../../store/db.ts';
import type { LoggedWrite } from '../logged-write.ts';
import type { MailboxRights } from './rights.ts';

/** A ShareNotification (RFC 9670 §5): someone changed the account's rights on a shared object. */
export interface ShareNotification {
  readonly id: number;
  readonly created: number;
  readonly changedBy: { readonly principalId: number; readonly name: string; readonly email: string };
  readonly objectType: string;
  readonly objectAccountId: number;
  readonly objectId: number;
  readonly oldRights: MailboxRights | null;
  readonly newRights: MailboxRights | null;
  readonly name: string;
}

/**
 * The ShareNotifications of an account (RFC 9670 §5), newest last; the user may destroy them
 * (§5.3), each destroy logged so /changes and push report it.
 */
export class ShareNotifications {
  readonly #db: Db;
  readonly #write: LoggedWrite;

  constructor(db: Db, write: LoggedWrite) {
    this.#db = db;
    this.#write = write;
  }

  /** The account's notifications, all or those of `ids`, oldest first. */
  async list(accountId: number, ids?: readonly number[]): Promise<ShareNotification[]> {
    let q = this.#db.kysely.selectFrom('share_notifications').selectAll().where('account_id', '=', accountId);
    if (ids) {
      if (!ids.length) return [];
      q = q.where('id', 'in', [...ids]);
    }
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id,
      created: r.created_at,
      changedBy: { principalId: r.changed_by_id, name: r.changed_by_name, email: r.changed_by_email },
      objectType: r.object_type,
      objectAccountId: r.object_account_id,
      objectId: r.object_id,
      oldRights: r.old_rights === null ? null : (JSON.parse(r.old_rights) as MailboxRights),
      newRights: r.new_rights === null ? null : (JSON.parse(r.new_rights) as MailboxRights),
      name: r.name,
    }));
  }

  /** Destroys the account's notifications of `ids`; returns the ids that existed. */
  async destroy(accountId: number, ids: readonly number[]): Promise<number[]> {
    if (!ids.length) return [];
    return this.#write(accountId, 'ShareNotification', async (trx) => {
      const rows = await trx
        .deleteFrom('share_notifications')
        .where('account_id', '=', accountId)
        .where('id', 'in', [...ids])
        .returning('id')
        .execute();
      const gone = rows.map((r) => r.id);
      return { value: gone, changes: gone.map((id) => ({ id, kind: 'destroyed' as const })) };
    });
  }
}
