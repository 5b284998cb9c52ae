import type { Transaction } from 'kysely';
import type { Database } from '../../store/schema.ts';
import type { JmapServices } from './context.ts';

/** One logged change of a JMAP object that lives outside the mail store. */
export interface LoggedChange {
  readonly id: number;
  readonly kind: 'created' | 'updated' | 'destroyed';
}

/**
 * Runs a write to JMAP-only objects (Identity, EmailSubmission, VacationResponse) in one
 * transaction that bumps the account's MODSEQ and logs the changes in the shared change log
 * (RFC 8620 §5.2 states), then announces them so push reaches every watcher.
 */
export async function writeLogged<T>(
  services: JmapServices,
  accountId: number,
  type: 'Identity' | 'EmailSubmission' | 'VacationResponse',
  fn: (trx: Transaction<Database>) => Promise<{ value: T; changes: readonly LoggedChange[] }>,
): Promise<T> {
  let modseq = 0;
  const value = await services.db.kysely.transaction().execute(async (trx) => {
    const { value, changes } = await fn(trx);
    if (!changes.length) return value;
    const row = await trx
      .updateTable('accounts')
      .set((eb) => ({ modseq: eb('modseq', '+', 1) }))
      .where('id', '=', accountId)
      .returning('modseq')
      .executeTakeFirstOrThrow();
    modseq = row.modseq;
    await trx
      .insertInto('changes')
      .values(changes.map((c) => ({ account_id: accountId, modseq, type, object_id: c.id, kind: c.kind })))
      .execute();
    return value;
  });
  if (modseq) services.mail.announce({ accountId, modseq, mailboxIds: [], types: [type] });
  return value;
}
