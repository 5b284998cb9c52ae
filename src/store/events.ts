import type { Db } from './db.ts';
import { EVENTS_CHANNEL } from './migrations/002-events-notify.ts';

/** Published when an account's password changes, or it is disabled or removed: its sessions end. */
export const CREDENTIALS_CHANGED = 'credentials_changed';
/** Published when an app password is revoked: sessions that signed in with it end. */
export const APP_PASSWORD_REVOKED = 'app_password_revoked';

/** Published when a node bans a client address: every node refuses it until the ban ends. */
export const SOURCE_BANNED = 'source_banned';

/** A cross-process event (revocations, new mail) as stored in the `events` table. */
export interface StoredEvent {
  readonly id: number;
  readonly kind: string;
  readonly payload: Record<string, unknown>;
  readonly createdAt: number;
}

/**
 * A wake-up between processes that share one store without LISTEN/NOTIFY (SQLite under
 * `serve --workers N`, src/store/events-relay.ts): `notify` after a publish, `subscribe` to poll at once.
 */
export interface EventRelay {
  notify(): void;
  subscribe(wake: () => void): () => void;
}

let relay: EventRelay | undefined;

/** Installs (or removes) this process's relay; pollers started afterwards use it when the store cannot NOTIFY. */
export function setEventRelay(r: EventRelay | undefined): void {
  relay = r;
}

/** Appends an event every node (and this one) will see on its next poll. */
export async function publishEvent(db: Db, kind: string, payload: Record<string, unknown>, now = Date.now()): Promise<void> {
  await db.kysely
    .insertInto('events')
    .values({ kind, payload: JSON.stringify(payload), created_at: now })
    .execute();
  if (!db.listen) relay?.notify();
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

interface Subscriber {
  /** Events up to this id happened before the subscriber existed. */
  readonly since: number;
  readonly onEvent: (event: StoredEvent) => void;
  readonly onError: (err: unknown) => void;
}

/**
 * One polling loop per database, shared by every subscriber in the process. On PostgreSQL it also
 * LISTENs on the events channel and polls at once when another node (or the admin CLI) writes.
 */
class EventPoller {
  readonly #db: Db;
  readonly #subscribers = new Set<Subscriber>();
  #intervalMs = Number.POSITIVE_INFINITY;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #unlisten: (() => void) | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  async add(intervalMs: number, subscriber: Omit<Subscriber, 'since'>): Promise<() => void> {
    const since = await latestEventId(this.#db);
    const entry = { ...subscriber, since };
    if (this.#subscribers.size === 0) {
      this.#last = since;
      this.#unlisten = this.#db.listen
        ? this.#db.listen(
            EVENTS_CHANNEL,
            () => this.#wake(),
            (err) => this.#failed(err),
          )
        : relay?.subscribe(() => this.#wake());
    }
    this.#subscribers.add(entry);
    if (intervalMs < this.#intervalMs) {
      this.#intervalMs = intervalMs;
      this.#schedule();
    }
    return () => {
      this.#subscribers.delete(entry);
      if (this.#subscribers.size === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#intervalMs = Number.POSITIVE_INFINITY;
        this.#unlisten?.();
        this.#unlisten = undefined;
      }
    };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }

  /** A NOTIFY arrived: poll now. */
  #wake(): void {
    if (this.#subscribers.size) void this.#tick();
  }

  #failed(err: unknown): void {
    for (const s of this.#subscribers) s.onError(err);
  }

  /** Reads new events; called while a read is under way, it makes that read go round once more. */
  async #tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = true;
    try {
      do {
        this.#again = false;
        for (const event of await eventsAfter(this.#db, this.#last)) {
          this.#last = event.id;
          for (const s of this.#subscribers) if (event.id > s.since) s.onEvent(event);
        }
      } while (this.#again && this.#subscribers.size);
    } catch (err) {
      this.#failed(err);
    } finally {
      this.#running = false;
    }
    if (this.#subscribers.size) this.#schedule();
  }
}

const pollers = new WeakMap<Db, EventPoller>();

/**
 * Hands events published after this call to `onEvent`, polling the events table every
 * `intervalMs` (the shortest interval any subscriber asked for), and on PostgreSQL as soon as a
 * NOTIFY says there is something new. Returns a stop function. This is the bus between the admin
 * CLI, several nodes on one PostgreSQL, and this node; every subscriber in a process shares one loop.
 */
export async function pollEvents(
  db: Db,
  intervalMs: number,
  onEvent: (event: StoredEvent) => void,
  onError: (err: unknown) => void,
): Promise<() => void> {
  let poller = pollers.get(db);
  if (!poller) pollers.set(db, (poller = new EventPoller(db)));
  return poller.add(intervalMs, { onEvent, onError });
}
