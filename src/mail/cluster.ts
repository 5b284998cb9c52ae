import { randomId } from '../core/ids.ts';
import type { Logger } from '../core/log.ts';
import type { Db } from '../store/db.ts';
import { pollEvents, publishEvent } from '../store/events.ts';
import type { MailStore } from './store.ts';
import type { MailChange } from './types.ts';

export const MAIL_CHANGED = 'mail_changed';

const ints = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => Number.isSafeInteger(x)) : []);

function parseChange(payload: Record<string, unknown>): MailChange | undefined {
  const { accountId, modseq } = payload;
  if (!Number.isSafeInteger(accountId) || !Number.isSafeInteger(modseq)) return undefined;
  const types = Array.isArray(payload.types) ? payload.types.filter((t): t is string => typeof t === 'string') : [];
  return { accountId: accountId as number, modseq: modseq as number, mailboxIds: ints(payload.mailboxIds), types };
}

/**
 * Lets several nodes on one PostgreSQL see each other's mail changes: every committed change is
 * published to the events table, and changes published by other nodes are announced to this
 * node's watchers (IMAP IDLE, JMAP push). Returns a stop function.
 */
export async function shareMailChanges(db: Db, mail: MailStore, logger: Logger, intervalMs: number): Promise<() => void> {
  const node = randomId('n');
  mail.publishChangesTo((change) => {
    publishEvent(db, MAIL_CHANGED, { ...change, node }).catch((err: Error) =>
      logger.warn({ err: err.message }, 'cannot publish a mail change'),
    );
  });
  return pollEvents(
    db,
    intervalMs,
    (event) => {
      if (event.kind !== MAIL_CHANGED || event.payload.node === node) return;
      const change = parseChange(event.payload);
      if (change) mail.announce(change);
    },
    (err) => logger.warn({ err: (err as Error).message }, 'cannot read mail changes of other nodes'),
  );
}
