import { PrincipalDirectory } from './principals.ts';
import { CalendarShares } from './shares.ts';
import type { Kysely, Selectable } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import {
  bumpModseq,
  CALENDAR_TABLES,
  type CollectionChanges,
  changesSince,
  checkConditions,
  deleteResource,
  isUniqueViolation,
  PreconditionFailed,
  resourcesByName,
} from '../store/collections.ts';
import { type Db, transaction } from '../store/db.ts';
import type { CalendarObjectTable, CalendarTable, Database } from '../store/schema.ts';
import type { ObjectIndex } from './expand.ts';
import type { CalendarObjectData } from './objects.ts';
import type { SharingPolicy, SharingRule } from './sharing.ts';

/**
 * Calendars and calendar object resources in SQL (both dialects), indexed by the span their
 * instances can occupy; free/busy sharing rules; the assertion replay cache. Every change bumps
 * the calendar's modseq (the CTag a CalDAV layer will need).
 */

export interface Calendar {
  readonly id: number;
  readonly accountId: number;
  readonly name: string;
  readonly displayName: string;
  readonly timezone: string;
  readonly includeInFreeBusy: boolean;
  /** Set when the calendar mirrors an external ICS feed. */
  readonly subscription?: {
    readonly url: string;
    readonly intervalMs: number;
    readonly nextRefreshAt: number | null;
    readonly lastRefreshAt: number | null;
    readonly lastError: string | null;
    readonly etag: string | null;
  };
  readonly modseq: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** A CSS color a client chose, or null. */
  readonly color: string | null;
  /** CALDAV:calendar-description (RFC 4791 §5.2.1), or null. */
  readonly description: string | null;
  /** The components the calendar accepts (RFC 4791 §5.2.3). */
  readonly components: readonly string[];
  /** `inbox`: the account's scheduling inbox (RFC 6638 §2.2); `calendar` otherwise. */
  readonly kind: 'calendar' | 'inbox';
  /**
   * Set when another account shared this calendar with the one looking (src/calendar/shares.ts):
   * `name` is then the segment in the sharee's home, `ownerName` the owner's.
   */
  readonly shared?: { readonly owner: string; readonly ownerName: string; readonly access: 'read' | 'read-write' };
}

export type { CollectionChanges };
export { PreconditionFailed };

/** A stored calendar object resource with its ETag and change counter. */
export interface StoredObject {
  readonly id: number;
  readonly calendarId: number;
  readonly name: string;
  readonly uid: string;
  readonly component: string;
  readonly etag: string;
  readonly ics: string;
  readonly modseq: number;
  readonly updatedAt: number;
  /** Schedule-Tag (RFC 6638 §3.2.10) of a scheduling object resource, else null. */
  readonly scheduleTag: string | null;
}

/** A row the free/busy computation considers: simple ones carry their period, others need expanding. */
export interface BusyCandidate {
  readonly id: number;
  readonly etag: string;
  readonly expand: boolean;
  readonly fbtype: string | null;
  readonly start: number;
  readonly end: number;
  readonly timezone: string;
}

/** An object ready to store: its text and its range index. */
export type IndexedObject = CalendarObjectData & { readonly index: ObjectIndex };

/** Conditional request headers for object writes (RFC 9110 §13.1.1, §13.1.2). */
export interface WriteCondition {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  /** If-Schedule-Tag-Match (RFC 6638 §8.3). */
  readonly ifScheduleTagMatch?: string;
}

/** The store name of the scheduling inbox; it and `outbox` are reserved (RFC 6638 §2.1, §2.2). */
export const INBOX = 'inbox';
const RESERVED_NAMES = new Set([INBOX, 'outbox']);

const CALENDAR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const OBJECT_NAME = /^[A-Za-z0-9@._+=~-]{1,200}\.ics$/;

/** Validates a calendar name (one URL path segment). */
export function checkCalendarName(name: string): string {
  if (!CALENDAR_NAME.test(name) || RESERVED_NAMES.has(name.toLowerCase()))
    throw new FingerpostError(
      'invalid_argument',
      `"${name.slice(0, 80)}" is not a calendar name (letters, digits, . _ -; at most 64; not inbox or outbox)`,
    );
  return name;
}

/** Validates an object resource name (`something.ics`). */
export function checkObjectName(name: string): string {
  if (!OBJECT_NAME.test(name))
    throw new FingerpostError(
      'invalid_argument',
      `"${name.slice(0, 80)}" is not an object name (letters, digits, @ . _ + = ~ -, ending in .ics)`,
    );
  return name;
}

/** A resource name for an imported UID: the UID itself when it is URL-safe, else its hash. */
export function objectNameFor(uid: string, hash: (s: string) => string): string {
  return /^[A-Za-z0-9@._+=~-]{1,120}$/.test(uid) ? `${uid}.ics` : `${hash(uid).slice(0, 32)}.ics`;
}

/** A calendar row as the store's type. */
export function toCalendar(r: Selectable<CalendarTable>): Calendar {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    displayName: r.display_name,
    timezone: r.timezone,
    includeInFreeBusy: r.include_in_freebusy === 1,
    ...(r.source_url
      ? {
          subscription: {
            url: r.source_url,
            intervalMs: r.refresh_interval ?? 3_600_000,
            nextRefreshAt: r.next_refresh_at,
            lastRefreshAt: r.last_refresh_at,
            lastError: r.last_error,
            etag: r.source_etag,
          },
        }
      : {}),
    modseq: r.modseq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    color: r.color ?? null,
    description: r.description ?? null,
    components: String(r.components ?? 'VEVENT,VTODO,VJOURNAL')
      .split(',')
      .filter((c) => c !== ''),
    kind: r.kind === 'inbox' ? 'inbox' : 'calendar',
  };
}

function toObject(r: Selectable<CalendarObjectTable>): StoredObject {
  return {
    id: r.id,
    calendarId: r.calendar_id,
    name: r.name,
    uid: r.uid,
    component: r.component,
    etag: r.etag,
    ics: r.ics,
    modseq: r.modseq,
    updatedAt: r.updated_at,
    scheduleTag: r.schedule_tag ?? null,
  };
}

/** The calendar tables in SQL (SQLite and PostgreSQL alike). */
export class CalendarStore {
  readonly #db: Db;
  readonly #now: () => number;

  /** Calendars shared with other accounts of the domain. */
  readonly shares: CalendarShares;
  /** Calendar users of a domain found by name or address (attendee lookup). */
  readonly principals: PrincipalDirectory;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.shares = new CalendarShares(db, now);
    this.principals = new PrincipalDirectory(db);
  }

  async listCalendars(accountId: number): Promise<Calendar[]> {
    const rows = await this.#db.kysely
      .selectFrom('calendars')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('kind', '=', 'calendar')
      .orderBy('name')
      .execute();
    return rows.map(toCalendar);
  }

  /** A calendar (never the scheduling inbox) by name. */
  async getCalendar(accountId: number, name: string): Promise<Calendar | undefined> {
    const row = await this.#db.kysely
      .selectFrom('calendars')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .where('kind', '=', 'calendar')
      .executeTakeFirst();
    return row ? toCalendar(row) : undefined;
  }

  /** The account's scheduling inbox (RFC 6638 §2.2), made on first use; never part of free/busy. */
  async ensureInbox(accountId: number, timezone: string): Promise<Calendar> {
    const find = () =>
      this.#db.kysely
        .selectFrom('calendars')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('kind', '=', 'inbox')
        .executeTakeFirst();
    const found = await find();
    if (found) return toCalendar(found);
    const now = this.#now();
    try {
      await this.#db.kysely
        .insertInto('calendars')
        .values({
          account_id: accountId,
          name: INBOX,
          display_name: 'Inbox',
          timezone,
          include_in_freebusy: 0,
          kind: 'inbox',
          components: 'VEVENT,VTODO,VJOURNAL,VFREEBUSY',
          modseq: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const made = await find();
    if (!made) throw new FingerpostError('already_exists', `a calendar named ${INBOX} holds the place of the scheduling inbox; rename it`);
    return toCalendar(made);
  }

  /**
   * The account's scheduling object resource with `uid` in any of its calendars (not the inbox):
   * where an organizer's update or an attendee's reply is applied (RFC 6638 §3.2.4, §4.1).
   */
  async findByUid(accountId: number, uid: string): Promise<{ calendar: Calendar; object: StoredObject } | undefined> {
    const row = await this.#db.kysely
      .selectFrom('calendar_objects as o')
      .innerJoin('calendars as c', 'c.id', 'o.calendar_id')
      .select(['o.id', 'o.calendar_id'])
      .where('o.account_id', '=', accountId)
      .where('o.uid', '=', uid)
      .where('c.kind', '=', 'calendar')
      .where('c.source_url', 'is', null)
      .orderBy('o.id')
      .executeTakeFirst();
    if (!row) return undefined;
    const calendar = await this.getCalendarById(row.calendar_id);
    const object = await this.#db.kysely.selectFrom('calendar_objects').selectAll().where('id', '=', row.id).executeTakeFirst();
    return calendar && object ? { calendar, object: toObject(object) } : undefined;
  }

  async getCalendarById(id: number): Promise<Calendar | undefined> {
    const row = await this.#db.kysely.selectFrom('calendars').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCalendar(row) : undefined;
  }

  /** Creates a calendar; `already_exists` when the account has one by that name. */
  async createCalendar(
    accountId: number,
    input: { name: string; displayName?: string; timezone: string; subscription?: { url: string; intervalMs: number } },
  ): Promise<Calendar> {
    checkCalendarName(input.name);
    const now = this.#now();
    try {
      await this.#db.kysely
        .insertInto('calendars')
        .values({
          account_id: accountId,
          name: input.name,
          display_name: input.displayName ?? input.name,
          timezone: input.timezone,
          include_in_freebusy: 1,
          source_url: input.subscription?.url ?? null,
          refresh_interval: input.subscription?.intervalMs ?? null,
          next_refresh_at: input.subscription ? now : null,
          modseq: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new FingerpostError('already_exists', `a calendar named ${input.name} already exists`);
      throw err;
    }
    return (await this.getCalendar(accountId, input.name))!;
  }

  /** The calendar by name, created with `defaults` when missing (concurrent creators end up with one). */
  async ensureCalendar(accountId: number, name: string, timezone: string): Promise<Calendar> {
    const existing = await this.getCalendar(accountId, name);
    if (existing) return existing;
    try {
      return await this.createCalendar(accountId, { name, timezone });
    } catch (err) {
      if (err instanceof FingerpostError && err.code === 'already_exists') return (await this.getCalendar(accountId, name))!;
      throw err;
    }
  }

  async updateCalendar(
    id: number,
    patch: {
      displayName?: string;
      timezone?: string;
      includeInFreeBusy?: boolean;
      subscription?: { url: string; intervalMs: number } | null;
      color?: string | null;
      description?: string | null;
      components?: readonly string[];
    },
  ): Promise<void> {
    const values: Partial<Record<keyof CalendarTable, unknown>> = { updated_at: this.#now() };
    if (patch.displayName !== undefined) values.display_name = patch.displayName;
    if (patch.color !== undefined) values.color = patch.color;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.components !== undefined) values.components = patch.components.join(',');
    if (patch.timezone !== undefined) values.timezone = patch.timezone;
    if (patch.includeInFreeBusy !== undefined) values.include_in_freebusy = patch.includeInFreeBusy ? 1 : 0;
    if (patch.subscription === null)
      Object.assign(values, { source_url: null, refresh_interval: null, next_refresh_at: null, source_etag: null });
    else if (patch.subscription)
      Object.assign(values, {
        source_url: patch.subscription.url,
        refresh_interval: patch.subscription.intervalMs,
        next_refresh_at: this.#now(),
      });
    await this.#db.kysely
      .updateTable('calendars')
      .set(values as never)
      .set((eb) => ({ modseq: eb('modseq', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  async removeCalendar(accountId: number, name: string): Promise<boolean> {
    const r = await this.#db.kysely.deleteFrom('calendars').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  #bump(trx: Kysely<Database>, calendarId: number): Promise<number> {
    return bumpModseq(trx, CALENDAR_TABLES, calendarId, this.#now());
  }

  #row(calendar: Calendar, name: string, obj: IndexedObject, modseq: number, now: number, scheduleTag: string | null = null) {
    return {
      calendar_id: calendar.id,
      account_id: calendar.accountId,
      name,
      uid: obj.uid,
      component: obj.component,
      etag: obj.etag,
      ics: obj.ics,
      size: Buffer.byteLength(obj.ics),
      expand: obj.index.expand,
      fbtype: obj.index.fbtype,
      start_at: obj.index.start,
      end_at: obj.index.end,
      modseq,
      created_at: now,
      updated_at: now,
      schedule_tag: scheduleTag,
    };
  }

  /**
   * Stores one object at `name` (HTTP PUT). Honours If-Match / If-None-Match / If-Schedule-Tag-Match
   * (`PreconditionFailed`) and refuses a UID that another resource of the calendar already holds
   * (RFC 4791 §5.3.2.1). `scheduleTag`: the new Schedule-Tag, null for none, undefined to keep it.
   */
  async putObject(
    calendar: Calendar,
    name: string,
    obj: IndexedObject,
    cond: WriteCondition = {},
    scheduleTag?: string | null,
  ): Promise<{ created: boolean; etag: string }> {
    checkObjectName(name);
    return transaction(this.#db, async (trx) => {
      const existing = await trx
        .selectFrom('calendar_objects')
        .select(['id', 'etag', 'schedule_tag'])
        .where('calendar_id', '=', calendar.id)
        .where('name', '=', name)
        .executeTakeFirst();
      checkConditions(existing?.etag, cond);
      if (cond.ifScheduleTagMatch !== undefined && (!existing || existing.schedule_tag !== cond.ifScheduleTagMatch.trim()))
        throw new PreconditionFailed('the organizer changed the event meanwhile (If-Schedule-Tag-Match)');
      const clash = await trx
        .selectFrom('calendar_objects')
        .select('name')
        .where('calendar_id', '=', calendar.id)
        .where('uid', '=', obj.uid)
        .where('name', '!=', name)
        .executeTakeFirst();
      if (clash)
        throw new FingerpostError('already_exists', `UID ${obj.uid} is already used by ${clash.name} in this calendar`, {
          context: { href: clash.name },
        });
      const modseq = await this.#bump(trx, calendar.id);
      const now = this.#now();
      const row = this.#row(calendar, name, obj, modseq, now, scheduleTag === undefined ? (existing?.schedule_tag ?? null) : scheduleTag);
      if (existing) {
        const { created_at: _c, ...update } = row;
        await trx.updateTable('calendar_objects').set(update).where('id', '=', existing.id).execute();
      } else {
        await trx.insertInto('calendar_objects').values(row).execute();
      }
      return { created: !existing, etag: obj.etag };
    });
  }

  async getObject(calendarId: number, name: string): Promise<StoredObject | undefined> {
    const row = await this.#db.kysely
      .selectFrom('calendar_objects')
      .selectAll()
      .where('calendar_id', '=', calendarId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toObject(row) : undefined;
  }

  async listObjects(calendarId: number): Promise<Array<Pick<StoredObject, 'name' | 'uid' | 'etag' | 'component' | 'updatedAt'>>> {
    const rows = await this.#db.kysely
      .selectFrom('calendar_objects')
      .select(['name', 'uid', 'etag', 'component', 'updated_at'])
      .where('calendar_id', '=', calendarId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ name: r.name, uid: r.uid, etag: r.etag, component: r.component, updatedAt: r.updated_at }));
  }

  async deleteObject(calendar: Calendar, name: string, cond: WriteCondition = {}): Promise<boolean> {
    return transaction(this.#db, (trx) => deleteResource(trx, CALENDAR_TABLES, calendar.id, name, cond.ifMatch, this.#now()));
  }

  /**
   * Writes many objects in one transaction, matched by UID: existing ones are replaced in place,
   * new ones get `nameFor(uid)`. With `replaceAll` (subscriptions) objects not in the set go.
   */
  async writeObjects(
    calendar: Calendar,
    objects: readonly IndexedObject[],
    nameFor: (uid: string) => string,
    options: { replaceAll?: boolean } = {},
  ): Promise<{ created: number; updated: number; unchanged: number; removed: number }> {
    return transaction(this.#db, async (trx) => {
      const existing = await trx
        .selectFrom('calendar_objects')
        .select(['id', 'uid', 'name', 'etag'])
        .where('calendar_id', '=', calendar.id)
        .execute();
      const byUid = new Map(existing.map((e) => [e.uid, e]));
      const names = new Set(existing.map((e) => e.name));
      const modseq = await this.#bump(trx, calendar.id);
      const now = this.#now();
      let created = 0;
      let updated = 0;
      let unchanged = 0;
      const keep = new Set<number>();
      for (const obj of objects) {
        const found = byUid.get(obj.uid);
        if (found) {
          keep.add(found.id);
          if (found.etag === obj.etag) {
            unchanged++;
            continue;
          }
          const { created_at: _c, ...update } = this.#row(calendar, found.name, obj, modseq, now);
          await trx.updateTable('calendar_objects').set(update).where('id', '=', found.id).execute();
          updated++;
        } else {
          let name = nameFor(obj.uid);
          for (let n = 2; names.has(name); n++) name = name.replace(/(-\d+)?\.ics$/, `-${n}.ics`);
          names.add(name);
          await trx
            .insertInto('calendar_objects')
            .values(this.#row(calendar, name, obj, modseq, now))
            .execute();
          created++;
        }
      }
      let removed = 0;
      if (options.replaceAll) {
        const goneRows = existing.filter((e) => !keep.has(e.id));
        const gone = goneRows.map((e) => e.id);
        for (let i = 0; i < gone.length; i += 500) {
          await trx
            .deleteFrom('calendar_objects')
            .where('id', 'in', gone.slice(i, i + 500))
            .execute();
          await trx
            .insertInto('calendar_tombstones')
            .values(goneRows.slice(i, i + 500).map((e) => ({ calendar_id: calendar.id, name: e.name, modseq, deleted_at: now })))
            .execute();
        }
        removed = gone.length;
      }
      return { created, updated, unchanged, removed };
    });
  }

  /**
   * What changed in a calendar after `since` (RFC 6578 §3.4). `since` 0 lists every object and no
   * removals (an initial sync).
   */
  async changesSince(calendarId: number, since: number): Promise<CollectionChanges> {
    return transaction(this.#db, (trx) => changesSince(trx, CALENDAR_TABLES, calendarId, since));
  }

  /** The stored objects of a calendar named in `names` (calendar-multiget, RFC 4791 §7.9). */
  async objectsByName(calendarId: number, names: readonly string[]): Promise<StoredObject[]> {
    const rows = await resourcesByName<Selectable<CalendarObjectTable>>(this.#db.kysely, CALENDAR_TABLES, calendarId, names);
    return rows.map(toObject);
  }

  /**
   * Objects of one calendar that may have an instance in [start, end) (every object without a
   * range), `limit` at most: simple events by their period, recurring ones by their first start,
   * and components the index does not place (to-dos, journals) always; in name order, after `after` when given.
   */
  async queryCandidates(
    calendarId: number,
    range: { start: number; end: number } | undefined,
    limit: number,
    after?: string,
  ): Promise<StoredObject[]> {
    let q = this.#db.kysely.selectFrom('calendar_objects').selectAll().where('calendar_id', '=', calendarId);
    // Keyset paging in name order: the next page starts after the last name of the previous one.
    if (after !== undefined) q = q.where('name', '>', after);
    if (range)
      q = q.where((eb) =>
        eb.or([
          eb('component', 'not in', ['VEVENT', 'VFREEBUSY']),
          eb.and([eb('expand', '=', 1), eb('start_at', '<', range.end)]),
          eb.and([eb('start_at', '<', range.end), eb('end_at', '>', range.start)]),
          eb.and([eb('start_at', '<', range.end), eb('start_at', '>=', range.start), eb('end_at', '=', eb.ref('start_at'))]),
        ]),
      );
    const rows = await q.orderBy('name').limit(limit).execute();
    return rows.map(toObject);
  }

  /** Objects of the account's free/busy calendars whose span overlaps [start, end) and may block time. */
  async busyCandidates(accountId: number, start: number, end: number): Promise<BusyCandidate[]> {
    const rows = await this.#db.kysely
      .selectFrom('calendar_objects as o')
      .innerJoin('calendars as c', 'c.id', 'o.calendar_id')
      .select(['o.id', 'o.etag', 'o.expand', 'o.fbtype', 'o.start_at', 'o.end_at', 'c.timezone'])
      .where('o.account_id', '=', accountId)
      .where('c.include_in_freebusy', '=', 1)
      .where('o.start_at', '<', end)
      .where('o.end_at', '>', start)
      .where((eb) => eb.or([eb('o.expand', '=', 1), eb('o.fbtype', 'is not', null)]))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      etag: r.etag,
      expand: r.expand === 1,
      fbtype: r.fbtype,
      start: r.start_at,
      end: r.end_at,
      timezone: r.timezone,
    }));
  }

  /** The stored text of objects by id (for expansion). */
  async objectTexts(ids: readonly number[]): Promise<Map<number, { etag: string; ics: string }>> {
    const out = new Map<number, { etag: string; ics: string }>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db.kysely
        .selectFrom('calendar_objects')
        .select(['id', 'etag', 'ics'])
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.id, { etag: r.etag, ics: r.ics });
    }
    return out;
  }

  // ---- sharing ----

  async getSharing(accountId: number): Promise<SharingRule | undefined> {
    const row = await this.#db.kysely.selectFrom('freebusy_sharing').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return row ? { policy: row.policy as SharingPolicy, allow: JSON.parse(row.allow) as string[] } : undefined;
  }

  async setSharing(accountId: number, rule: SharingRule): Promise<void> {
    const values = { policy: rule.policy, allow: JSON.stringify(rule.allow), updated_at: this.#now() };
    await this.#db.kysely
      .insertInto('freebusy_sharing')
      .values({ account_id: accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
  }

  async clearSharing(accountId: number): Promise<void> {
    await this.#db.kysely.deleteFrom('freebusy_sharing').where('account_id', '=', accountId).execute();
  }

  // ---- subscriptions ----

  /**
   * Claims subscribed calendars due for a refresh: moves their next refresh forward first, so
   * several nodes on one database never refresh the same calendar at once.
   */
  async claimDueSubscriptions(limit: number): Promise<Calendar[]> {
    const now = this.#now();
    const due = await this.#db.kysely
      .selectFrom('calendars')
      .selectAll()
      .where('source_url', 'is not', null)
      .where('next_refresh_at', '<=', now)
      .orderBy('next_refresh_at')
      .limit(limit)
      .execute();
    const claimed: Calendar[] = [];
    for (const row of due) {
      const lease = now + Math.max(row.refresh_interval ?? 3_600_000, 60_000);
      const r = await this.#db.kysely
        .updateTable('calendars')
        .set({ next_refresh_at: lease })
        .where('id', '=', row.id)
        .where('next_refresh_at', '=', row.next_refresh_at)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) claimed.push(toCalendar({ ...row, next_refresh_at: lease }));
    }
    return claimed;
  }

  /** Records the outcome of a refresh. */
  async recordRefresh(calendarId: number, outcome: { error: string | null; etag?: string | null; nextAt: number }): Promise<void> {
    const values: Record<string, unknown> = { last_refresh_at: this.#now(), last_error: outcome.error, next_refresh_at: outcome.nextAt };
    if (outcome.etag !== undefined) values.source_etag = outcome.etag;
    await this.#db.kysely
      .updateTable('calendars')
      .set(values as never)
      .where('id', '=', calendarId)
      .execute();
  }

  // ---- replay cache ----

  /** Records a used assertion; false when it was already used (a replay). */
  async recordAssertion(key: string, expiresAt: number): Promise<boolean> {
    try {
      await this.#db.kysely.insertInto('freebusy_replay').values({ replay_key: key, expires_at: expiresAt }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async pruneAssertions(): Promise<void> {
    await this.#db.kysely.deleteFrom('freebusy_replay').where('expires_at', '<', this.#now()).execute();
  }
}
