import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';

/** One logged change of an object (RFC 8620 §5.2 `created` / `updated` / `destroyed`). */
export interface LoggedChange {
  readonly id: number;
  readonly kind: 'created' | 'updated' | 'destroyed';
}

/**
 * The mail store's one unit of work for objects kept beside the mail (MailStore.writeLogged): `fn`
 * runs in a transaction that, when it reports changes, bumps the account's MODSEQ and logs them
 * under `type`; after commit the change is announced on this node and published to the others.
 * `modseq()` takes that MODSEQ early (once; the same value the changes are logged under) for a
 * write that must store it too, such as a mailbox's HIGHESTMODSEQ (RFC 7162 §3.2).
 */
export type LoggedWrite = <T>(
  accountId: number,
  type: 'Identity' | 'EmailSubmission' | 'VacationResponse' | 'ShareNotification' | 'Mailbox' | 'Metadata',
  fn: (trx: Transaction<Database>, modseq: () => Promise<number>) => Promise<{ value: T; changes: readonly LoggedChange[] }>,
) => Promise<T>;
