import { createHash } from 'node:crypto';
import type ICAL from 'ical.js';
import { FingerpostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Directory, DirectoryAccount, WritableDirectory } from '../directory/directory.ts';
import { type BusyInstance, expandBusy, type FbType, indexObject } from './expand.ts';
import { mergeBusy, type TimeRange } from './freebusy.ts';
import { IcsError, parseIcs } from './ics.ts';
import { type CalendarObjectData, etagOf, loadObject, splitObjects } from './objects.ts';
import type { FreeBusyResult } from './render.ts';
import { type Asker, mayReadFreeBusy, NOBODY, parseSharingRule, type SharingRule } from './sharing.ts';
import { InstanceCache, monthsOf } from './instance-cache.ts';
import { type BusyCandidate, type Calendar, type CalendarStore, type IndexedObject, objectNameFor, type WriteCondition } from './store.ts';
import { isKnownZone } from './zones.ts';

/** The limits and defaults the calendar code runs with (from `[calendar]`). */
export interface CalendarSettings {
  /** Longest free/busy range, ms. */
  readonly maxRangeMs: number;
  /** Occurrences iterated per recurring event and query. */
  readonly maxInstances: number;
  /** Zone of new calendars (floating times, all-day events). */
  readonly defaultTimezone: string;
  /** Largest iCalendar text accepted (PUT body, import file, feed). */
  readonly maxIcsBytes: number;
  /** Parsed recurring objects kept in memory between queries. */
  readonly cacheSize?: number;
}

/** Where an account's effective sharing rule came from. */
export interface EffectiveRule {
  readonly rule: SharingRule;
  readonly source: 'account' | 'domain' | 'default';
}

/** The calendar imports and PUTs go to unless told otherwise (created on first use). */
export const DEFAULT_CALENDAR = 'default';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Reads the `freebusy` member of a domain's settings as a rule, ignoring anything malformed. */
function domainRule(settings: Readonly<Record<string, unknown>>): SharingRule | undefined {
  const raw = settings.freebusy;
  if (!raw) return undefined;
  try {
    return parseSharingRule(raw);
  } catch {
    return undefined;
  }
}

/** What calendars need from the directory: lookups, and writing a domain's free/busy rule. */
export type CalendarDirectory = Directory & Pick<WritableDirectory, 'updateDomainSettings'>;

/**
 * The calendar use cases shared by the admin CLI, HTTP and federation: writing iCalendar in,
 * computing an account's free/busy, and deciding who may see it.
 */
export class CalendarService {
  readonly store: CalendarStore;
  readonly settings: CalendarSettings;
  readonly #directory: CalendarDirectory;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  /** Parsed recurring objects by id; an entry is valid while its etag matches. */
  readonly #parsed = new Map<number, { etag: string; vcal: ICAL.Component }>();
  /** Expanded instances per object and month. */
  readonly #instances: InstanceCache;

  /** Whether an address is in an account's address books (the `contacts` sharing rule). */
  readonly #inContacts: ((accountId: number, address: string) => Promise<boolean>) | undefined;
  #askLog: ((accountId: number, asker: Asker, allowed: boolean) => Promise<void>) | undefined;

  constructor(deps: {
    store: CalendarStore;
    directory: CalendarDirectory;
    settings: CalendarSettings;
    logger?: Logger;
    now?: () => number;
    inContacts?: (accountId: number, address: string) => Promise<boolean>;
  }) {
    this.store = deps.store;
    this.#inContacts = deps.inContacts;
    this.settings = deps.settings;
    this.#directory = deps.directory;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#instances = new InstanceCache(4 * (deps.settings.cacheSize ?? 5000));
  }

  // ---- writing ----

  #checkSize(text: string): void {
    if (Buffer.byteLength(text) > this.settings.maxIcsBytes)
      throw new FingerpostError(
        'limit_exceeded',
        `the iCalendar data is larger than ${this.settings.maxIcsBytes} bytes (calendar.max_ics_bytes)`,
      );
  }

  #index(objects: readonly CalendarObjectData[], zone: string): IndexedObject[] {
    const options = { zone, maxInstances: this.settings.maxInstances };
    return objects.map((o) => {
      try {
        return { ...o, index: indexObject(o.vcalendar, options) };
      } catch (err) {
        if (err instanceof FingerpostError) throw err;
        // Text that passed the strict reader but that ical.js cannot expand: the writer's mistake (400), not a crash.
        this.#logger?.warn({ uid: o.uid.slice(0, 200), err: (err as Error).message }, 'cannot expand a calendar object');
        throw new IcsError(
          undefined,
          `the object with UID ${o.uid.slice(0, 80)} cannot be expanded (${String((err as Error).message).slice(0, 120)})`,
        );
      }
    });
  }

  /** Reads, validates and indexes a whole file; nothing is stored when any of it is malformed. */
  prepare(text: string, zone: string, options: { single?: boolean } = {}): { objects: IndexedObject[]; warnings: string[] } {
    this.#checkSize(text);
    const parsed = parseIcs(text);
    const { objects, warnings } = splitObjects(parsed, options);
    return { objects: this.#index(objects, zone), warnings };
  }

  /** The account's calendar by name, created on first use for the default one. */
  async calendarFor(account: DirectoryAccount, name: string, create: boolean): Promise<Calendar | undefined> {
    if (create) return this.store.ensureCalendar(account.id, name, this.settings.defaultTimezone);
    return this.store.getCalendar(account.id, name);
  }

  /** `fingerpost admin calendar import`: upserts every UID of `text` into the calendar, all or nothing. */
  async importIcs(account: DirectoryAccount, calendarName: string, text: string) {
    const calendar = await this.store.ensureCalendar(account.id, calendarName, this.settings.defaultTimezone);
    if (calendar.subscription)
      throw new FingerpostError(
        'invalid_argument',
        `calendar ${calendarName} mirrors ${calendar.subscription.url}; import into another calendar`,
      );
    const { objects, warnings } = this.prepare(text, calendar.timezone);
    const counts = await this.store.writeObjects(calendar, objects, (uid) => objectNameFor(uid, sha256));
    return { ...counts, objects: objects.length, warnings, calendar: calendar.name };
  }

  /** HTTP PUT of one calendar object resource. */
  async putObject(account: DirectoryAccount, calendarName: string, objectName: string, text: string, cond: WriteCondition) {
    const calendar = await this.store.ensureCalendar(account.id, calendarName, this.settings.defaultTimezone);
    if (calendar.subscription)
      throw new FingerpostError('invalid_argument', `calendar ${calendarName} mirrors an external feed and is read-only`);
    const { objects, warnings } = this.prepare(text, calendar.timezone, { single: true });
    const result = await this.store.putObject(calendar, objectName, objects[0]!, cond);
    return { ...result, warnings };
  }

  /**
   * Reads one calendar object resource (RFC 4791 §4.1) to be stored exactly as sent: the text is
   * validated and indexed, and kept byte for byte (so GET returns it and its ETag is strong,
   * RFC 4791 §5.3.4). Throws IcsError (with the line) for malformed text.
   */
  prepareExact(text: string, zone: string): { object: IndexedObject; warnings: string[] } {
    this.#checkSize(text);
    const parsed = parseIcs(text);
    const { objects, warnings } = splitObjects(parsed, { single: true });
    const rebuilt = objects[0]!;
    const exact: CalendarObjectData =
      parsed.calendars.length === 1 ? { ...rebuilt, ics: text, vcalendar: parsed.calendars[0]!, etag: etagOf(text) } : rebuilt;
    return { object: this.#index([exact], zone)[0]!, warnings };
  }

  /** Replaces a subscribed calendar's contents with a feed's text (all or nothing). */
  async replaceFromFeed(calendar: Calendar, text: string) {
    const { objects, warnings } = this.prepare(text, calendar.timezone);
    const counts = await this.store.writeObjects(calendar, objects, (uid) => objectNameFor(uid, sha256), { replaceAll: true });
    return { ...counts, warnings };
  }

  /** Sets the zone floating times of a calendar are read in; re-indexes its objects. */
  async setTimezone(calendar: Calendar, zone: string): Promise<void> {
    if (!isKnownZone(zone)) throw new FingerpostError('invalid_argument', `"${zone}" is not an IANA time zone name (like Europe/Berlin)`);
    await this.store.updateCalendar(calendar.id, { timezone: zone });
    const names = await this.store.listObjects(calendar.id);
    const texts = [];
    for (const n of names) {
      const o = await this.store.getObject(calendar.id, n.name);
      if (o) texts.push(o);
    }
    const updated = { ...calendar, timezone: zone };
    for (const o of texts) {
      const vcal = loadObject(o.ics);
      const data: CalendarObjectData = {
        uid: o.uid,
        component: o.component as CalendarObjectData['component'],
        ics: o.ics,
        vcalendar: vcal,
        etag: o.etag,
      };
      await this.store.putObject(updated, o.name, this.#index([data], zone)[0]!);
    }
  }

  // ---- free/busy ----

  #cached(id: number, etag: string): ICAL.Component | undefined {
    const hit = this.#parsed.get(id);
    if (!hit || hit.etag !== etag) return undefined;
    this.#parsed.delete(id);
    this.#parsed.set(id, hit);
    return hit.vcal;
  }

  #parse(id: number, text: { etag: string; ics: string } | undefined): ICAL.Component | undefined {
    if (!text) return undefined;
    const vcal = loadObject(text.ics);
    this.#parsed.set(id, { etag: text.etag, vcal });
    const max = this.settings.cacheSize ?? 5000;
    while (this.#parsed.size > max) this.#parsed.delete(this.#parsed.keys().next().value!);
    return vcal;
  }

  /**
   * The merged busy periods of an account in `range` over its free/busy calendars (RFC 4791
   * §7.10 rules). Authorization is the caller's job (`mayRead`).
   */
  async freeBusy(account: DirectoryAccount, range: TimeRange): Promise<FreeBusyResult> {
    const candidates = await this.store.busyCandidates(account.id, range.start, range.end);
    const months = monthsOf(range);
    const instances: BusyInstance[] = [];
    const recurring: BusyCandidate[] = [];
    const missing: number[] = [];
    for (const c of candidates) {
      if (!c.expand) instances.push({ start: c.start, end: c.end, type: c.fbtype as FbType });
      else {
        recurring.push(c);
        if (!this.#cached(c.id, c.etag) && months.some((m) => !this.#instances.get(c.id, c.etag, c.timezone, m))) missing.push(c.id);
      }
    }
    const texts = missing.length ? await this.store.objectTexts(missing) : new Map<number, { etag: string; ics: string }>();
    let truncated = false;
    const options = (zone: string) => ({ zone, maxInstances: this.settings.maxInstances });
    for (const r of recurring) {
      try {
        let vcal: ICAL.Component | undefined;
        for (const month of months) {
          let e = this.#instances.get(r.id, r.etag, r.timezone, month);
          if (!e) {
            vcal ??= this.#cached(r.id, r.etag) ?? this.#parse(r.id, texts.get(r.id));
            if (!vcal) break; // deleted meanwhile
            e = expandBusy(vcal, month, options(r.timezone));
            this.#instances.set(r.id, r.etag, r.timezone, month, e);
          }
          for (const i of e.instances) if (i.end > range.start && i.start < range.end) instances.push(i);
          if (e.capped) {
            truncated = true;
            this.#logger?.warn(
              { account: account.address, object: r.id, max: this.settings.maxInstances },
              'recurrence expansion capped (calendar.max_instances)',
            );
          }
        }
      } catch (err) {
        // A stored object ical.js cannot expand must not take the whole answer down.
        this.#logger?.warn(
          { account: account.address, object: r.id, err: (err as Error).message },
          'cannot expand a calendar object; skipped',
        );
      }
    }
    return { account: account.address, range, busy: mergeBusy(instances, range), truncated };
  }

  // ---- sharing ----

  /** The rule that applies to an account: its own, else its domain's default, else nobody. */
  async effectiveRule(account: DirectoryAccount): Promise<EffectiveRule> {
    const own = await this.store.getSharing(account.id);
    if (own) return { rule: own, source: 'account' };
    const domain = await this.#directory.findDomain(account.domain);
    const fromDomain = domain ? domainRule(domain.settings) : undefined;
    if (fromDomain) return { rule: fromDomain, source: 'domain' };
    return { rule: NOBODY, source: 'default' };
  }

  /** Told of every free/busy decision about an account for someone else (the account page's ask log). */
  setAskLog(log: (accountId: number, asker: Asker, allowed: boolean) => Promise<void>): void {
    this.#askLog = log;
  }

  /** Whether `asker` may see `account`'s free/busy. */
  async mayRead(account: DirectoryAccount, asker: Asker): Promise<boolean> {
    if (account.disabled) return false;
    if (asker.kind !== 'anonymous' && asker.address.toLowerCase() === account.address) return asker.kind === 'local';
    const allowed = await this.#decide(account, asker);
    await this.#askLog?.(account.id, asker, allowed).catch((err) =>
      this.#logger?.warn({ err: (err as Error).message }, 'free/busy ask not logged'),
    );
    return allowed;
  }

  async #decide(account: DirectoryAccount, asker: Asker): Promise<boolean> {
    const { rule } = await this.effectiveRule(account);
    if (mayReadFreeBusy(rule, account.address, asker)) return true;
    // "My contacts": an asker whose address is in one of the owner's address books.
    if (rule.policy === 'contacts' && asker.kind !== 'anonymous' && this.#inContacts)
      return this.#inContacts(account.id, asker.address.toLowerCase());
    return false;
  }

  /** Sets the domain default rule (stored in the domain's settings). `undefined` clears it. */
  async setDomainDefault(domain: string, rule: SharingRule | undefined): Promise<void> {
    await this.#directory.updateDomainSettings(domain, { freebusy: rule ?? null });
  }

  async domainDefault(domain: string): Promise<SharingRule | undefined> {
    const d = await this.#directory.findDomain(domain);
    if (!d) throw new FingerpostError('unknown_domain', `domain ${domain} is not served here`);
    return domainRule(d.settings);
  }
}

/** Re-exported so callers of the service can tell malformed iCalendar apart. */
export { IcsError };
