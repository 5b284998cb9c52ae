import { type Kysely, sql, type Transaction } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { Database } from '../store/schema.ts';

/**
 * The next UIDVALIDITY (RFC 9051 §2.3.1.1), taken from the server-wide counter in the caller's
 * transaction: strictly greater than every value handed out before, on every node (PostgreSQL
 * holds the counter row locked until the transaction ends), and at least the current epoch second,
 * so a database restored from an old backup still moves forward. The counter lives in
 * `mail_counters` (migration 021).
 */
export async function nextUidValidity(db: Transaction<Database> | Kysely<Database>, now: number): Promise<number> {
  const floor = Math.floor(now / 1000);
  const row = await db
    .updateTable('mail_counters')
    .set({ value: sql<number>`case when value + 1 > ${floor} then value + 1 else ${floor} end` })
    .where('name', '=', 'uidvalidity')
    .returning('value')
    .executeTakeFirst();
  if (!row) throw new FingerpostError('unavailable', 'the UIDVALIDITY counter is missing; run the migrations');
  // UIDVALIDITY is a 32-bit nz-number; at one value per second this lasts until 2106.
  if (row.value > 0xffffffff) throw new FingerpostError('limit_exceeded', 'no UIDVALIDITY values are left');
  return row.value;
}
