import type { Db } from './db.ts';

/** A cross-process event (revocations, new mail) as stored in the `events` table. */
export interface StoredEvent {
  readonly id: number;
  readonly kind: string;
  readonly payload: Record<string, unknown>;
  readonly createdAt: number;
}

/** Appends an event every node (and this one) will see on its next poll. */
export async function publishEvent(db: Db, kind: string, payload: Record<string, unknown>, now = Date.now()): Promise<void> {
  await db.kysely
    .insertInto('events')
    .values({ kind, payload: JSON.stringify(payload), created_at: now })
    .execute();
}

/** The id of the newest event, so a starting node only sees what happens after it starts. */
export async function latestEventId(db: Db): Promise<number> {
  const row = await db.kysely
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** Events after `afterId`, oldest first. */
export async function eventsAfter(db: Db, afterId: number, limit = 500): Promise<StoredEvent[]> {
  const rows = await db.kysely.selectFrom('events').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: r.id as unknown as number, kind: r.kind, payload: JSON.parse(r.payload), createdAt: r.created_at }));
}

/** Deletes events older than `before` (epoch ms); nodes only need the recent tail. */
export async function pruneEvents(db: Db, before: number): Promise<void> {
  await db.kysely.deleteFrom('events').where('created_at', '<', before).execute();
}

/**
 * Polls the events table every `intervalMs` and hands new events to `onEvent`. Returns a stop
 * function. This is the bus between the admin CLI, several nodes on one PostgreSQL, and this node.
 */
export async function pollEvents(
  db: Db,
  intervalMs: number,
  onEvent: (event: StoredEvent) => void,
  onError: (err: unknown) => void,
): Promise<() => void> {
  let last = await latestEventId(db);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      for (const event of await eventsAfter(db, last)) {
        last = event.id;
        onEvent(event);
      }
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
