import type { Transaction } from 'kysely';
import type { LoggedChange } from '../../mail/store.ts';
import type { Database } from '../../store/schema.ts';
import type { JmapServices } from './context.ts';

export type { LoggedChange };

/**
 * Runs a write to JMAP-only objects (Identity, EmailSubmission, VacationResponse) through the mail
 * store's one unit of work: it bumps the account's MODSEQ, logs the changes (RFC 8620 §5.2 states),
 * announces them on this node and publishes them to the other nodes, exactly like a mail change.
 */
export function writeLogged<T>(
  services: JmapServices,
  accountId: number,
  type: 'Identity' | 'EmailSubmission' | 'VacationResponse',
  fn: (trx: Transaction<Database>) => Promise<{ value: T; changes: readonly LoggedChange[] }>,
): Promise<T> {
  return services.mail.writeLogged(accountId, type, fn);
}
