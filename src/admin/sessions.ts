import { listStoredSessions, publishSessionRevocation, type StoredSession } from '../auth/session-store.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';

/**
 * The live authenticated sessions (IMAP, POP3, SMTP, JMAP, DAV) every running node mirrors into
 * the store, and ending them: a revocation goes out on the events table, and every node ends its
 * matching sessions with the protocol's own goodbye (src/auth/session-sync.ts). Shared by the
 * admin CLI and the web account page.
 */
export class SessionAdmin {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Live sessions, oldest first; one account's when `accountId` is given. */
  list(accountId?: number): Promise<StoredSession[]> {
    return listStoredSessions(this.#db, accountId === undefined ? {} : { accountId });
  }

  /** Ends one session; with `accountId`, only if it belongs to that account (else not_found). */
  async revoke(sessionId: string, accountId?: number): Promise<StoredSession> {
    const [live] = await listStoredSessions(this.#db, { id: sessionId, ...(accountId === undefined ? {} : { accountId }) });
    if (!live)
      throw new FingerpostError('not_found', `no live session ${sessionId}`, { hint: 'list them with: fingerpost admin session list' });
    await publishSessionRevocation(this.#db, { sessionId: live.id });
    return live;
  }

  /** Ends every live session of an account; returns how many were live. */
  async revokeAccount(accountId: number): Promise<number> {
    const live = await this.list(accountId);
    await publishSessionRevocation(this.#db, { accountId });
    return live.length;
  }
}
