import { sql } from 'kysely';
import type { Db } from '../store/db.ts';

/**
 * The stored search text of messages (decoded, lower-cased headers and body, written at append):
 * IMAP SEARCH (RFC 9051 §6.4.4) and JMAP text filters (RFC 8621 §4.4.1) read it.
 */
export class SearchText {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * The decoded, lower-cased header text of messages (IMAP SEARCH by header), without their bodies;
   * with `words` (lower-case), only of the messages whose header text holds every one of them, so
   * the database leaves out what cannot match.
   */
  async headerTexts(messageIds: readonly number[], words: readonly string[] = []): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const find = this.#db.dialect === 'sqlite' ? 'instr' : 'strpos';
    for (let i = 0; i < messageIds.length; i += 500) {
      let q = this.#db.kysely
        .selectFrom('message_text')
        .select(['message_id', 'headers'])
        .where('message_id', 'in', messageIds.slice(i, i + 500) as number[]);
      for (const w of words) q = q.where(sql<boolean>`${sql.raw(find)}(headers, ${w}) > 0`);
      const rows = await q.execute();
      for (const r of rows) out.set(r.message_id, r.headers);
    }
    return out;
  }

  /** Searchable text of messages (decoded headers and body). */
  async texts(messageIds: readonly number[]): Promise<Map<number, { headers: string; body: string }>> {
    const out = new Map<number, { headers: string; body: string }>();
    for (let i = 0; i < messageIds.length; i += 500) {
      const rows = await this.#db.kysely
        .selectFrom('message_text')
        .select(['message_id', 'headers', 'body'])
        .where('message_id', 'in', messageIds.slice(i, i + 500) as number[])
        .execute();
      for (const r of rows) out.set(r.message_id, { headers: r.headers, body: r.body });
    }
    return out;
  }

  /**
   * Ids of the account's messages whose headers or body contain `needle`, case-insensitively
   * (RFC 9051 §6.4.4 substring semantics). The stored text is already lower-cased.
   */
  async textMatches(accountId: number, needle: string, where: 'headers' | 'body' | 'both'): Promise<Set<number>> {
    const n = needle.toLowerCase();
    const find = this.#db.dialect === 'sqlite' ? 'instr' : 'strpos';
    const contains = (column: 'headers' | 'body') => sql<boolean>`${sql.raw(find)}(${sql.ref(column)}, ${n}) > 0`;
    const q = this.#db.kysely
      .selectFrom('message_text')
      .select('message_id')
      .where('account_id', '=', accountId)
      .where((eb) =>
        where === 'headers' ? contains('headers') : where === 'body' ? contains('body') : eb.or([contains('headers'), contains('body')]),
      );
    return new Set((await q.execute()).map((r) => r.message_id));
  }
}
