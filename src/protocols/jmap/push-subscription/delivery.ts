import webpush from 'web-push';
import type { OutboundHttp } from '../../../calendar/outbound.ts';
import type { MailChange } from '../../../mail/types.ts';
import type { JmapServices } from '../context.ts';
import { toId } from '../ids.ts';
import { currentStates, stateChange } from '../push/state-change.ts';
import { PUSH_TYPES, type PushType } from '../state.ts';
import { SHARED_TYPES } from '../sharing/shared-push.ts';
import { vapidKeys } from './store.ts';

/** A node holds a claimed message this long; if it dies meanwhile, another node sends it. */
const LEASE_MS = 60_000;
const BATCH = 20;

/** The wait before try `attempt + 1`: `initialMs` (`jmap.push_retry_initial`) doubling up to `maxMs` (`jmap.push_retry_max`). */
export function backoffMs(attempt: number, initialMs = 10_000, maxMs = 3_600_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Sends JMAP push messages to PushSubscription URLs (RFC 8620 §7.2) as Web Push (RFC 8030):
 * encrypted with the subscription's keys (RFC 8291, aes128gcm) and signed with the server's VAPID
 * key (RFC 8292), through the SSRF-guarded outbound client, HTTPS only. Messages wait in a table
 * that every node polls; a node claims a row by moving its lease forward in one conditional update,
 * so each message is sent by exactly one node, and a failed send is retried with back-off.
 */
export class PushDelivery {
  readonly #services: JmapServices;
  readonly #outbound: () => OutboundHttp;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #stopWatching: (() => void) | undefined;

  constructor(services: JmapServices, outbound: () => OutboundHttp, intervalMs = 5_000) {
    this.#services = services;
    this.#outbound = outbound;
    this.#intervalMs = intervalMs;
  }

  /** Queues StateChanges for changes committed on this node, and starts sending. */
  start(): void {
    this.#stopWatching = this.#services.mail.onLocalChange((change) => {
      this.#enqueueChange(change).catch((err: Error) => this.#services.logger.warn({ err: err.message }, 'cannot queue a push message'));
    });
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    this.#stopWatching?.();
    clearTimeout(this.#timer);
  }

  /** Queues the PushVerification of a new subscription (RFC 8620 §7.2.2). */
  async enqueueVerification(subscriptionId: number): Promise<void> {
    const payload = {
      '@type': 'PushVerification',
      pushSubscriptionId: toId('push', subscriptionId),
      verificationCode: await this.#services.mail.pushSubscriptions.verificationCode(subscriptionId),
    };
    await this.#enqueue([{ subscriptionId, payload: JSON.stringify(payload) }]);
  }

  /**
   * One StateChange per subscription that wants a changed type: the owner's subscriptions, and
   * those of the accounts the owner's mailboxes are shared with (by a grant or `anyone`, less
   * negative rights: whoever the Session lists the account for), for the types a shared account
   * has (RFC 9670 §1.4), naming the owner's account. All of them queued in one insert.
   */
  async #enqueueChange(change: MailChange): Promise<void> {
    const changed = PUSH_TYPES.filter(
      (t) => change.types.includes(t) || (t === 'EmailDelivery' && change.types.includes('Email')),
    ) as PushType[];
    if (!changed.length) return;
    const now = this.#services.now();
    const owner = change.accountId;
    const subs = await this.#services.mail.pushSubscriptions.activeFor(
      owner,
      changed.some((t) => SHARED_TYPES.has(t)),
      now,
    );
    if (!subs.length) return;
    const states = await currentStates(this.#services, owner, changed);
    // EmailDelivery moves only when mail arrived; a change that did not move it does not name it.
    if (states.EmailDelivery !== undefined && states.EmailDelivery !== String(change.modseq)) delete states.EmailDelivery;
    const sees = new Map<number, boolean>();
    const items: Array<{ subscriptionId: number; payload: string }> = [];
    for (const sub of subs) {
      const own = sub.account_id === owner;
      if (!own && !sees.has(sub.account_id))
        sees.set(sub.account_id, (await this.#services.mail.sharing.sharedMailboxes(sub.account_id, owner)).size > 0);
      if (!own && !sees.get(sub.account_id)) continue;
      const wanted = sub.types === null ? null : new Set(JSON.parse(sub.types) as string[]);
      const mine = Object.fromEntries(
        Object.entries(states).filter(([t]) => (!wanted || wanted.has(t)) && (own || SHARED_TYPES.has(t as PushType))),
      );
      if (Object.keys(mine).length) items.push({ subscriptionId: sub.id, payload: JSON.stringify(stateChange(owner, mine)) });
    }
    await this.#enqueue(items);
  }

  async #enqueue(items: ReadonlyArray<{ subscriptionId: number; payload: string }>): Promise<void> {
    if (!items.length) return;
    await this.#services.mail.pushSubscriptions.enqueue(items, this.#services.now());
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.tick(), ms);
    this.#timer.unref();
  }

  /**
   * Sends what is due (also called by tests); a call during a running pass makes it go round once
   * more and resolves when it is done.
   */
  tick(): Promise<void> {
    if (this.#current) {
      this.#again = true;
      return this.#current;
    }
    this.#current = this.#pass().finally(() => {
      this.#current = undefined;
    });
    return this.#current;
  }

  async #pass(): Promise<void> {
    try {
      do {
        this.#again = false;
        while ((await this.#sendDue()) === BATCH && !this.#stopped);
      } while (this.#again && !this.#stopped);
    } catch (err) {
      this.#services.logger.warn({ err: (err as Error).message }, 'push delivery failed');
    }
    this.#schedule(this.#intervalMs);
  }

  /** Claims and sends up to BATCH due messages; returns how many were due. */
  async #sendDue(): Promise<number> {
    const store = this.#services.mail.pushSubscriptions;
    const now = this.#services.now();
    const due = await store.due(now, BATCH);
    // The claim: only one node's update finds the lease still expired.
    for (const id of due) if (await store.claim(id, now, now + LEASE_MS)) await this.#sendOne(id, now);
    return due.length;
  }

  async #sendOne(id: number, now: number): Promise<void> {
    const store = this.#services.mail.pushSubscriptions;
    const row = await store.outboxItem(id);
    if (!row) return;
    let status = 0;
    try {
      const { headers, body } = await this.#request(row.url, row.p256dh, row.auth, row.payload);
      status = (await this.#outbound().post(row.url, { headers, body, maxBytes: 16 * 1024, httpsOnly: true })).status;
    } catch (err) {
      this.#services.logger.info({ err: (err as Error).message, subscription: row.subscriptionId }, 'push message not delivered');
    }
    if (status >= 200 && status < 300) return store.sent(id);
    // RFC 8030 §7.3: 404 and 410 mean the push subscription is gone; so is ours.
    if (status === 404 || status === 410) return store.destroy(row.subscriptionId);
    // Tries per message (`jmap.push_max_attempts`); then it is dropped and the client resyncs from states.
    const jmap = this.#services.config.jmap;
    if (row.attempts >= jmap.push_max_attempts) return store.sent(id);
    await store.retryAt(id, now + backoffMs(row.attempts, jmap.push_retry_initial, jmap.push_retry_max));
  }

  /** The Web Push request: aes128gcm-encrypted when the subscription has keys (RFC 8291), VAPID-signed (RFC 8292). */
  async #request(url: string, p256dh: string | null, auth: string | null, payload: string) {
    const vapid = await vapidKeys(this.#services);
    const vapidDetails = { subject: this.#services.config.publicUrl, publicKey: vapid.publicKey, privateKey: vapid.privateKey };
    if (p256dh && auth) {
      const details = webpush.generateRequestDetails({ endpoint: url, keys: { p256dh, auth } }, payload, {
        vapidDetails,
        TTL: 86_400,
        contentEncoding: 'aes128gcm',
      });
      const headers = Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
      return { headers, body: Buffer.from(details.body as Buffer) };
    }
    const v = webpush.getVapidHeaders(new URL(url).origin, vapidDetails.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
    return {
      headers: { authorization: String(v.Authorization), ttl: '86400', 'content-type': 'application/json' },
      body: Buffer.from(payload, 'utf8'),
    };
  }
}
