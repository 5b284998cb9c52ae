import { createHash, randomUUID } from 'node:crypto';
import type ICAL from 'ical.js';
import type { Logger } from '../../core/log.ts';
import type { Directory, DirectoryAccount } from '../../directory/directory.ts';
import { loadObject } from '../objects.ts';
import { DEFAULT_CALENDAR, type CalendarService } from '../service.ts';
import { type Calendar, objectNameFor, type StoredObject } from '../store.ts';
import { imipMessage } from './imip.ts';
import {
  applyReply,
  attendeeCopy,
  cancelledCopy,
  icsText,
  type ItipMethod,
  markAttendees,
  organizerMessage,
  partstatOf,
  replyMessage,
  schedulingInfo,
  significant,
} from './itip.ts';

/**
 * Implicit scheduling (RFC 6638 §3.2): when an organizer writes or removes an event, its attendees
 * get a REQUEST or CANCEL; when an attendee changes its answer or removes its copy, the organizer
 * gets a REPLY. Local recipients get the message in their scheduling inbox and their own copy
 * updated (§4.1); remote ones get it by email (iMIP, RFC 6047) through the outbound queue. Each
 * attendee's outcome is kept as SCHEDULE-STATUS on the organizer's copy (§7.3).
 */

/** The outbound mail queue (DKIM-signing by From domain): what iMIP messages leave through. */
export type Enqueue = (input: { sender: string; recipients: readonly string[]; message: Buffer; accountId?: number }) => Promise<number>;

/** REQUEST-STATUS codes of a delivery (RFC 6638 §3.2.9, RFC 5546 §3.6). */
export const STATUS = {
  /** Sent: handed to the mail queue. */
  sent: '1.1',
  /** Delivered into the recipient's inbox here. */
  delivered: '1.2',
  /** No such calendar user. */
  invalidUser: '3.7',
  /** The recipient's server cannot be reached (here: no outbound mail). */
  unavailable: '5.1',
} as const;

export interface SchedulerDeps {
  readonly calendar: CalendarService;
  readonly directory: Pick<Directory, 'findByAddress' | 'findDomain'>;
  /** Absent: remote attendees get SCHEDULE-STATUS 5.1 (this node sends no mail). */
  readonly enqueue?: Enqueue;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** What a write did to the stored object: the Schedule-Tag it now has, and whether the server rewrote it. */
export interface ScheduleOutcome {
  readonly scheduleTag: string | null;
  readonly rewritten: boolean;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

const newTag = () => `"${randomUUID()}"`;

/** Sends iTIP messages and applies them to local calendars. */
export class Scheduler {
  readonly #deps: SchedulerDeps;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /**
   * Implicit scheduling after `account` stored `current` at `name` in `calendar` (RFC 6638 §3.2.1,
   * §3.2.2): REQUESTs to the attendees and CANCELs to removed ones when the organizer changed
   * something significant, or a REPLY when an attendee changed its PARTSTAT.
   */
  async afterWrite(
    account: DirectoryAccount,
    calendar: Calendar,
    name: string,
    previous: StoredObject | undefined,
    current: StoredObject,
  ): Promise<ScheduleOutcome> {
    const keep: ScheduleOutcome = { scheduleTag: current.scheduleTag, rewritten: false };
    const now = loadObject(current.ics);
    const info = schedulingInfo(now);
    if (!info?.organizer || info.attendees.length === 0) return keep;
    const before = previous ? loadObject(previous.ics) : undefined;
    const was = before ? schedulingInfo(before) : undefined;
    if (info.organizer === account.address) {
      const changed = !before || significant(before) !== significant(now);
      const removed = (was?.attendees ?? []).filter((a) => a.byServer && !info.attendees.some((b) => b.address === a.address));
      if (!changed && removed.length === 0) return keep;
      const to = info.attendees.filter((a) => a.byServer && a.address !== account.address).map((a) => a.address);
      const statuses = await this.send(account, 'REQUEST', organizerMessage(now, 'REQUEST'), to);
      if (removed.length && before)
        await this.send(
          account,
          'CANCEL',
          organizerMessage(before, 'CANCEL'),
          removed.map((a) => a.address),
        );
      markAttendees(now, statuses);
      const scheduleTag = newTag();
      await this.#store(calendar, name, icsText(now), scheduleTag);
      return { scheduleTag, rewritten: true };
    }
    const mine = partstatOf(now, account.address);
    if (mine && mine !== 'NEEDS-ACTION' && (!before || partstatOf(before, account.address) !== mine))
      await this.send(account, 'REPLY', replyMessage(now, account.address), [info.organizer]);
    return keep;
  }

  /**
   * Implicit scheduling after `account` removed `previous` (RFC 6638 §3.2.5): the organizer's
   * removal cancels the event for every attendee; an attendee's declines it unless `reply` is false
   * (the Schedule-Reply: F request header, §8.1).
   */
  async afterDelete(account: DirectoryAccount, previous: StoredObject, reply = true): Promise<void> {
    const vcal = loadObject(previous.ics);
    const info = schedulingInfo(vcal);
    if (!info?.organizer) return;
    if (info.organizer === account.address) {
      const to = info.attendees.filter((a) => a.byServer && a.address !== account.address).map((a) => a.address);
      if (to.length) await this.send(account, 'CANCEL', organizerMessage(vcal, 'CANCEL'), to);
      return;
    }
    if (reply && info.attendees.some((a) => a.address === account.address))
      await this.send(account, 'REPLY', replyMessage(vcal, account.address, 'DECLINED'), [info.organizer]);
  }

  /**
   * Delivers an iTIP message from `sender` to each recipient: local accounts directly, the others
   * as one iMIP message through the queue. Returns each recipient's REQUEST-STATUS code.
   */
  async send(
    sender: DirectoryAccount,
    method: ItipMethod,
    message: ICAL.Component,
    recipients: readonly string[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const remote: string[] = [];
    for (const to of recipients) {
      const domain = to.slice(to.lastIndexOf('@') + 1);
      if (!(await this.#deps.directory.findDomain(domain))) {
        remote.push(to);
        continue;
      }
      const account = await this.#deps.directory.findByAddress(to);
      if (!account || account.disabled) out.set(to, STATUS.invalidUser);
      else {
        await this.#deliverLocal(sender.address, account, method, message);
        out.set(to, STATUS.delivered);
      }
    }
    if (remote.length) {
      const status = await this.#sendMail(sender, method, message, remote);
      for (const r of remote) out.set(r, status);
    }
    return out;
  }

  async #sendMail(sender: DirectoryAccount, method: ItipMethod, message: ICAL.Component, to: readonly string[]): Promise<string> {
    if (!this.#deps.enqueue) return STATUS.unavailable;
    const info = schedulingInfo(message);
    const mail = imipMessage({
      from: { address: sender.address, name: sender.displayName || undefined },
      to,
      method,
      summary: info?.summary ?? '',
      ics: icsText(message),
      partstat: method === 'REPLY' ? partstatOf(message, sender.address) : undefined,
      now: this.#now(),
    });
    try {
      await this.#deps.enqueue({ sender: sender.address, recipients: to, message: mail, accountId: sender.id });
      return STATUS.sent;
    } catch (err) {
      this.#deps.logger?.warn({ err: (err as Error).message, method }, 'cannot queue an iMIP message');
      return STATUS.unavailable;
    }
  }

  /**
   * A message that arrived by mail (iMIP, RFC 6047) from `from`, whose sender the caller has
   * authenticated, applied like local delivery (RFC 6638 §4.1).
   */
  receive(from: string, to: DirectoryAccount, method: ItipMethod, message: ICAL.Component): Promise<void> {
    return this.#deliverLocal(from, to, method, message);
  }

  /**
   * Local delivery (RFC 6638 §4.1): the message into the recipient's inbox (replacing an older one
   * for the same UID), then applied to the recipient's own copy: only the organizer the copy names
   * may update or cancel it, and only one of its attendees may answer.
   */
  async #deliverLocal(from: string, to: DirectoryAccount, method: ItipMethod, message: ICAL.Component): Promise<void> {
    const service = this.#deps.calendar;
    const info = schedulingInfo(message);
    if (!info) return;
    const inbox = await service.store.ensureInbox(to.id, service.settings.defaultTimezone);
    const { object } = service.prepareExact(icsText(message), inbox.timezone);
    await service.store.writeObjects(inbox, [object], (uid) => objectNameFor(uid, sha256));
    const existing = await service.store.findByUid(to.id, info.uid);
    const copy = existing ? loadObject(existing.object.ics) : undefined;
    const copyInfo = copy ? schedulingInfo(copy) : undefined;
    if (method === 'REPLY') {
      if (!existing || !copy || copyInfo?.organizer !== to.address) return;
      const updated = applyReply(copy, message, from);
      if (updated) await this.#store(existing.calendar, existing.object.name, icsText(updated), undefined);
      return;
    }
    if (info.organizer !== from || (copyInfo && copyInfo.organizer !== from)) return;
    if (method === 'CANCEL') {
      if (existing && copy) await this.#store(existing.calendar, existing.object.name, icsText(cancelledCopy(copy)), newTag());
      return;
    }
    const text = icsText(attendeeCopy(message, to.address, copy));
    if (existing) return this.#store(existing.calendar, existing.object.name, text, newTag());
    const calendar = (await service.calendarFor(to, DEFAULT_CALENDAR, true))!;
    await this.#store(calendar, objectNameFor(info.uid, sha256), text, newTag());
  }

  async #store(calendar: Calendar, name: string, text: string, scheduleTag: string | null | undefined): Promise<void> {
    const { object } = this.#deps.calendar.prepareExact(text, calendar.timezone);
    await this.#deps.calendar.store.putObject(calendar, name, object, {}, scheduleTag);
  }
}
