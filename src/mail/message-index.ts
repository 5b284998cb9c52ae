import type { Db } from '../store/db.ts';

/** Ids looked up at most this many at a time (bounded SQL parameter lists). */
const CHUNK = 500;

/**
 * Which messages and threads an account has (RFC 8621 §3 Threads, §4 Emails), read from the
 * message index without loading messages: for /get of Threads, Thread/changes and query changes.
 */
export class MessageIndex {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The account's message ids in ascending order, at most `limit`. */
  async messageIds(accountId: number, limit: number): Promise<number[]> {
    const rows = await this.#db.kysely
      .selectFrom('messages')
      .select('id')
      .where('account_id', '=', accountId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** The members of each existing thread among `threadIds`, oldest received first (RFC 8621 §3). */
  async threadMembers(accountId: number, threadIds: readonly number[]): Promise<Map<number, number[]>> {
    const members = new Map<number, number[]>();
    for (let i = 0; i < threadIds.length; i += CHUNK) {
      const rows = await this.#db.kysely
        .selectFrom('messages')
        .select(['id', 'thread_id'])
        .where('account_id', '=', accountId)
        .where('thread_id', 'in', threadIds.slice(i, i + CHUNK))
        .orderBy('received_at')
        .orderBy('id')
        .execute();
      for (const r of rows) members.set(r.thread_id, [...(members.get(r.thread_id) ?? []), r.id]);
    }
    return members;
  }

  /** Those of `threadIds` that still have a message. */
  async liveThreads(accountId: number, threadIds: readonly number[]): Promise<Set<number>> {
    const alive = new Set<number>();
    for (let i = 0; i < threadIds.length; i += CHUNK) {
      const rows = await this.#db.kysely
        .selectFrom('messages')
        .select('thread_id')
        .distinct()
        .where('account_id', '=', accountId)
        .where('thread_id', 'in', threadIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) alive.add(r.thread_id);
    }
    return alive;
  }

  /** The threads the existing messages among `messageIds` belong to. */
  async threadsOf(accountId: number, messageIds: readonly number[]): Promise<Set<number>> {
    const threads = new Set<number>();
    for (let i = 0; i < messageIds.length; i += CHUNK) {
      const rows = await this.#db.kysely
        .selectFrom('messages')
        .select('thread_id')
        .where('account_id', '=', accountId)
        .where('id', 'in', messageIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) threads.add(r.thread_id);
    }
    return threads;
  }
}
