import type { Db } from '../store/db.ts';
import { publishEvent } from '../store/events.ts';
import type { AuthMethod, AuthProtocol, LiveSession } from './types.ts';

/** Event kind asking every node to end sessions (published by `fingerpost admin session revoke`). */
export const SESSION_REVOKED = 'session_revoked';

/** Which sessions a `session_revoked` event ends: by session id, account, or token `jti`. */
export type SessionRevocation =
  | { readonly sessionId: string }
  | { readonly accountId: number }
  | { readonly issuer: string; readonly jti: string; readonly until: number };

/** A session as listed from the store, with the node that holds it. */
export interface StoredSession extends LiveSession {
  readonly node: string;
  readonly seenAt: number;
}

/** Heartbeats older than this mean the node is gone and its rows are stale. */
export const STALE_AFTER_MS = 90_000;

/** Publishes a revocation for every node (and this process) to apply on its next poll. */
export function publishSessionRevocation(db: Db, revocation: SessionRevocation): Promise<void> {
  return publishEvent(db, SESSION_REVOKED, { ...revocation });
}

/** Sessions that live nodes reported, oldest first; optionally one account's, or the one of id `id`. */
export async function listStoredSessions(
  db: Db,
  options: { accountId?: number; id?: string; now?: number } = {},
): Promise<StoredSession[]> {
  const now = options.now ?? Date.now();
  let q = db.kysely
    .selectFrom('auth_sessions')
    .selectAll()
    .where('seen_at', '>', now - STALE_AFTER_MS)
    .orderBy('started_at')
    .orderBy('id');
  if (options.accountId !== undefined) q = q.where('account_id', '=', options.accountId);
  if (options.id !== undefined) q = q.where('id', '=', options.id);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    node: r.node,
    accountId: r.account_id,
    address: r.address,
    protocol: r.protocol as AuthProtocol,
    listener: r.listener,
    remote: r.remote,
    method: r.method as AuthMethod,
    startedAt: r.started_at,
    seenAt: r.seen_at,
    ...(r.credential_id !== null ? { credentialId: r.credential_id } : {}),
    ...(r.session_id !== null ? { sessionId: r.session_id } : {}),
    ...(r.issuer !== null ? { issuer: r.issuer } : {}),
    ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
  }));
}

/**
 * Keeps this node's rows in `auth_sessions` current (issue 3 step 6) so the admin CLI, running in
 * another process, can list sessions. Starts and stops are batched and written once per flush, so
 * a short connection that opens and closes between flushes costs no write; a heartbeat refreshes
 * `seen_at` and removes rows of nodes that stopped beating.
 */
export class SessionMirror {
  readonly #db: Db;
  readonly #node: string;
  readonly #now: () => number;
  readonly #inserts = new Map<string, LiveSession>();
  readonly #deletes = new Set<string>();
  #flushing: Promise<void> | undefined;

  constructor(db: Db, node: string, now: () => number = Date.now) {
    this.#db = db;
    this.#node = node;
    this.#now = now;
  }

  started(session: LiveSession): void {
    this.#inserts.set(session.id, session);
  }

  stopped(session: LiveSession): void {
    if (!this.#inserts.delete(session.id)) this.#deletes.add(session.id);
  }

  /** Writes pending starts and stops. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const inserts = [...this.#inserts.values()];
    const deletes = [...this.#deletes];
    this.#inserts.clear();
    this.#deletes.clear();
    const now = this.#now();
    try {
      if (deletes.length) {
        for (let i = 0; i < deletes.length; i += 500)
          await this.#db.kysely
            .deleteFrom('auth_sessions')
            .where('id', 'in', deletes.slice(i, i + 500))
            .execute();
      }
      for (let i = 0; i < inserts.length; i += 200) {
        await this.#db.kysely
          .insertInto('auth_sessions')
          .values(
            inserts.slice(i, i + 200).map((s) => ({
              id: s.id,
              node: this.#node,
              account_id: s.accountId,
              address: s.address,
              protocol: s.protocol,
              listener: s.listener,
              remote: s.remote,
              method: s.method,
              credential_id: s.credentialId ?? null,
              session_id: s.sessionId ?? null,
              issuer: s.issuer ?? null,
              expires_at: s.expiresAt ?? null,
              started_at: s.startedAt,
              seen_at: now,
            })),
          )
          .execute();
      }
    } catch (err) {
      // Try again on the next flush; a session that stopped meanwhile cancels its insert.
      for (const id of deletes) this.#deletes.add(id);
      for (const s of inserts) if (!this.#deletes.delete(s.id)) this.#inserts.set(s.id, s);
      throw err;
    }
  }

  /** Refreshes this node's rows and deletes rows of nodes that stopped beating. */
  async heartbeat(): Promise<void> {
    const now = this.#now();
    await this.#db.kysely.updateTable('auth_sessions').set({ seen_at: now }).where('node', '=', this.#node).execute();
    await this.#db.kysely
      .deleteFrom('auth_sessions')
      .where('seen_at', '<', now - STALE_AFTER_MS * 3)
      .execute();
  }

  /** Removes every row of this node (shutdown). */
  async clear(): Promise<void> {
    this.#inserts.clear();
    this.#deletes.clear();
    await this.#flushing?.catch(() => {});
    await this.#db.kysely.deleteFrom('auth_sessions').where('node', '=', this.#node).execute();
  }
}
