import { sql } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';
import type { MailChange } from './types.ts';
import type { Trx, UnitOfWork } from './unit-of-work.ts';

/** The object id of the one storage quota of an account in the change log (RFC 9425 Quota). */
export const STORAGE_QUOTA_ID = 1;

/** An account's storage quota in octets: `limit` null when none is set. */
export interface StorageQuota {
  readonly limit: number | null;
  readonly used: number;
}

/**
 * Each account's storage quota (RFC 9208 §5.1 STORAGE, RFC 9425): the limit an administrator set
 * and the octets in use, kept exact by every write's transaction through `addUsage`.
 */
export class StorageQuotas {
  readonly #db: Db;
  readonly #uow: UnitOfWork;

  constructor(db: Db, uow: UnitOfWork) {
    this.#db = db;
    this.#uow = uow;
  }

  /**
   * Adds `delta` octets to the account's storage use in the write's transaction (RFC 9208 §5.1
   * STORAGE, RFC 9425 §4.1). Growing past a set limit throws `over_quota`, which rolls the whole
   * write back; shrinking always succeeds. A set limit's Quota object gets a logged change.
   */
  async addUsage(trx: Trx, accountId: number, modseq: number, delta: number): Promise<void> {
    if (delta === 0) return;
    const row = await trx
      .insertInto('mail_quotas')
      .values({ account_id: accountId, storage_limit: null, storage_used: Math.max(0, delta) })
      .onConflict((oc) =>
        oc.column('account_id').doUpdateSet((eb) => ({
          storage_used: sql<number>`case when ${eb.ref('mail_quotas.storage_used')} + ${delta} < 0 then 0 else ${eb.ref('mail_quotas.storage_used')} + ${delta} end`,
        })),
      )
      .returning(['storage_used', 'storage_limit'])
      .executeTakeFirstOrThrow();
    if (row.storage_limit === null) return;
    if (delta > 0 && Number(row.storage_used) > Number(row.storage_limit))
      throw new FingerpostError('over_quota', 'the account is over its storage quota', {
        context: { used: Number(row.storage_used), limit: Number(row.storage_limit) },
      });
    await this.#uow.logChange(trx, accountId, modseq, 'Quota', STORAGE_QUOTA_ID, 'updated');
    this.#uow.quotaChanged(trx);
  }

  /** The account's storage quota: the limit in octets (null: none) and the octets in use (RFC 9208 §5.1). */
  async get(accountId: number): Promise<StorageQuota> {
    const row = await this.#db.kysely
      .selectFrom('mail_quotas')
      .select(['storage_limit', 'storage_used'])
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return {
      limit: row?.storage_limit === null || row?.storage_limit === undefined ? null : Number(row.storage_limit),
      used: Number(row?.storage_used ?? 0),
    };
  }

  /**
   * Sets (or with null removes) the account's storage limit in octets; an administrator's act, not
   * a user's (RFC 9208 §4.1.3). The Quota object is logged as created, updated or destroyed
   * (RFC 9425 §5.2). Returns the change, for the caller to publish when it runs outside a node.
   */
  async setLimit(accountId: number, limit: number | null): Promise<MailChange | undefined> {
    if (limit !== null && (!Number.isSafeInteger(limit) || limit < 0))
      throw new FingerpostError('invalid_argument', 'a quota is a whole number of octets');
    const { modseq } = await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const before = await trx.selectFrom('mail_quotas').select('storage_limit').where('account_id', '=', accountId).executeTakeFirst();
        const had = before !== undefined && before.storage_limit !== null;
        if (!had && limit === null) return;
        if (had && Number(before.storage_limit) === limit) return;
        const used = await trx
          .selectFrom('messages')
          .select((eb) => eb.fn.sum<number>('size').as('used'))
          .where('account_id', '=', accountId)
          .executeTakeFirst();
        // The limit's owner re-reads the use from the messages, so a set limit starts exact.
        await trx
          .insertInto('mail_quotas')
          .values({ account_id: accountId, storage_limit: limit, storage_used: Number(used?.used ?? 0) })
          .onConflict((oc) => oc.column('account_id').doUpdateSet({ storage_limit: limit, storage_used: Number(used?.used ?? 0) }))
          .execute();
        const m = await nextModseq();
        await this.#uow.logChange(
          trx,
          accountId,
          m,
          'Quota',
          STORAGE_QUOTA_ID,
          !had ? 'created' : limit === null ? 'destroyed' : 'updated',
        );
      },
      ['Quota'],
      new Set(),
    );
    return modseq ? { accountId, modseq, mailboxIds: [], types: ['Quota'] } : undefined;
  }
}
