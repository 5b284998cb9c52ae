import type { Kysely } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { Database } from './schema.ts';

/**
 * What the calendar and address-book stores share as WebDAV collections of resources (RFC 4918,
 * RFC 4791, RFC 6352): conditional writes (RFC 9110 §13.1.1, §13.1.2), the per-collection modseq
 * behind CTags and sync tokens, and the changes since a modseq from live rows and tombstones
 * (RFC 6578 §3.4). Also the unique-violation test of both SQL dialects.
 */

/** True for a unique-constraint violation on PostgreSQL (23505) or SQLite. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || /UNIQUE constraint failed/i.test(String(e.message));
}

/** A conditional write whose precondition did not hold (HTTP 412). */
export class PreconditionFailed extends FingerpostError {
  constructor(message: string) {
    super('invalid_argument', message);
    this.name = 'PreconditionFailed';
  }
}

/** Whether an If-Match / If-None-Match value names `etag` (or is `*`); weak tags compare weakly (RFC 9110 §8.8.3.2). */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .includes(etag);
}

/** Throws PreconditionFailed unless the conditions hold for the resource's current ETag (undefined: no resource). */
export function checkConditions(current: string | undefined, cond: { readonly ifMatch?: string; readonly ifNoneMatch?: string }): void {
  if (cond.ifNoneMatch !== undefined && current !== undefined && etagMatches(cond.ifNoneMatch, current))
    throw new PreconditionFailed('the resource exists (If-None-Match)');
  if (cond.ifMatch !== undefined && (current === undefined || !etagMatches(cond.ifMatch, current)))
    throw new PreconditionFailed('the resource changed or does not exist (If-Match)');
}

/** The tables of one kind of collection: the collections, their resources, tombstones and the resources' key column. */
export interface CollectionTables {
  readonly collections: 'calendars' | 'addressbooks';
  readonly resources: 'calendar_objects' | 'address_objects';
  readonly tombstones: 'calendar_tombstones' | 'address_tombstones';
  readonly key: 'calendar_id' | 'addressbook_id';
}

export const CALENDAR_TABLES: CollectionTables = {
  collections: 'calendars',
  resources: 'calendar_objects',
  tombstones: 'calendar_tombstones',
  key: 'calendar_id',
};
export const ADDRESSBOOK_TABLES: CollectionTables = {
  collections: 'addressbooks',
  resources: 'address_objects',
  tombstones: 'address_tombstones',
  key: 'addressbook_id',
};

// The tables differ only in names, so queries over them are built untyped and their rows typed here.
type Untyped = Kysely<Record<string, Record<string, unknown>>>;
const untyped = (trx: Kysely<Database>) => trx as unknown as Untyped;

/** Bumps a collection's modseq inside `trx` and returns the new value (the change's modseq). */
export async function bumpModseq(trx: Kysely<Database>, t: CollectionTables, id: number, now: number): Promise<number> {
  const db = untyped(trx);
  await db
    .updateTable(t.collections)
    .set((eb) => ({ modseq: eb('modseq', '+', 1), updated_at: now }))
    .where('id', '=', id)
    .execute();
  const row = await db.selectFrom(t.collections).select('modseq').where('id', '=', id).executeTakeFirstOrThrow();
  return Number(row.modseq);
}

/** Records a removed resource so that sync-collection reports it (RFC 6578 §3.5.2). */
async function addTombstone(
  trx: Kysely<Database>,
  t: CollectionTables,
  id: number,
  name: string,
  modseq: number,
  now: number,
): Promise<void> {
  await untyped(trx)
    .insertInto(t.tombstones)
    .values({ [t.key]: id, name, modseq, deleted_at: now })
    .execute();
}

/** What changed in a collection since a modseq (RFC 6578 §3.4): live names with their ETags, removed names. */
export interface CollectionChanges {
  readonly changed: ReadonlyArray<{ readonly name: string; readonly etag: string }>;
  readonly removed: readonly string[];
  /** The collection's modseq when read: the new sync token. */
  readonly modseq: number;
}

/**
 * What changed in collection `id` after `since`; `since` 0 lists every resource and no removals
 * (an initial sync). A name removed and written again counts as changed, not removed.
 */
export async function changesSince(trx: Kysely<Database>, t: CollectionTables, id: number, since: number): Promise<CollectionChanges> {
  const db = untyped(trx);
  const collection = await db.selectFrom(t.collections).select('modseq').where('id', '=', id).executeTakeFirstOrThrow();
  const live = (await db
    .selectFrom(t.resources)
    .select(['name', 'etag'])
    .where(t.key, '=', id)
    .where('modseq', '>', since)
    .orderBy('name')
    .execute()) as Array<{ name: string; etag: string }>;
  let removed: string[] = [];
  if (since > 0) {
    const gone = await db.selectFrom(t.tombstones).select('name').distinct().where(t.key, '=', id).where('modseq', '>', since).execute();
    const names = gone.map((g) => String(g.name));
    const still = new Set<string>();
    for (let i = 0; i < names.length; i += 500) {
      const rows = await db
        .selectFrom(t.resources)
        .select('name')
        .where(t.key, '=', id)
        .where('name', 'in', names.slice(i, i + 500))
        .execute();
      for (const r of rows) still.add(String(r.name));
    }
    removed = names.filter((n) => !still.has(n)).sort();
  }
  return { changed: live, removed, modseq: Number(collection.modseq) };
}

/**
 * Removes resource `name` of collection `id` under If-Match inside `trx`: bumps the modseq and
 * leaves a tombstone. False when there is no such resource (and no If-Match).
 */
export async function deleteResource(
  trx: Kysely<Database>,
  t: CollectionTables,
  id: number,
  name: string,
  ifMatch: string | undefined,
  now: number,
): Promise<boolean> {
  const db = untyped(trx);
  const existing = await db
    .selectFrom(t.resources)
    .select(['id', 'etag'])
    .where(t.key, '=', id)
    .where('name', '=', name)
    .executeTakeFirst();
  checkConditions(existing ? String(existing.etag) : undefined, { ifMatch });
  if (!existing) return false;
  const modseq = await bumpModseq(trx, t, id, now);
  await db.deleteFrom(t.resources).where('id', '=', existing.id).execute();
  await addTombstone(trx, t, id, name, modseq, now);
  return true;
}

/** The rows of collection `id`'s resources named in `names` (a multiget, RFC 4791 §7.9, RFC 6352 §8.7), 500 names per query. */
export async function resourcesByName<Row>(
  db: Kysely<Database>,
  t: CollectionTables,
  id: number,
  names: readonly string[],
): Promise<Row[]> {
  const out: Row[] = [];
  for (let i = 0; i < names.length; i += 500) {
    const rows = await untyped(db)
      .selectFrom(t.resources)
      .selectAll()
      .where(t.key, '=', id)
      .where('name', 'in', names.slice(i, i + 500))
      .execute();
    out.push(...(rows as Row[]));
  }
  return out;
}
