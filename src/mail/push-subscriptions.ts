import type { Selectable } from 'kysely';
import type { Db } from '../store/db.ts';
import type { JmapPushSubscriptionTable } from '../store/schema.ts';
import { ANYONE } from './sharing/identifiers.ts';

/** A stored PushSubscription (RFC 8620 §7.2); `types` holds a JSON list of type names or NULL for all. */
export type PushSubscriptionRow = Selectable<JmapPushSubscriptionTable>;

/** The values of a new PushSubscription (RFC 8620 §7.2.2); it starts unverified. */
export interface NewPushSubscription {
  readonly deviceClientId: string;
  readonly url: string;
  readonly keys: { readonly p256dh: string; readonly auth: string } | null;
  readonly verificationCode: string;
  readonly expires: number;
  readonly types: string | null;
  readonly createdAt: number;
}

/** A queued push message with what sending it needs (RFC 8030 §5, RFC 8291 §3). */
export interface PushOutboxItem {
  readonly payload: string;
  readonly attempts: number;
  readonly subscriptionId: number;
  readonly url: string;
  readonly p256dh: string | null;
  readonly auth: string | null;
}

/** A VAPID key pair (RFC 8292 §3.2), base64url. */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

/**
 * An account's PushSubscriptions (RFC 8620 §7.2), the outbox of push messages every node polls
 * and claims by lease (so each message is sent once), and the server's VAPID key (RFC 8292).
 * Subscriptions are not JMAP data with a state (RFC 8620 §7.2: no state, no /changes), so writes
 * here do not go through the change log.
 */
export class PushSubscriptions {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The account's subscriptions, oldest first. */
  list(accountId: number): Promise<PushSubscriptionRow[]> {
    return this.#db.kysely.selectFrom('jmap_push_subscriptions').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
  }

  /** How many subscriptions the account has (the `jmap.push_max_subscriptions` bound). */
  async count(accountId: number): Promise<number> {
    const row = await this.#db.kysely
      .selectFrom('jmap_push_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Stores a new, unverified subscription; returns its id. */
  async create(accountId: number, sub: NewPushSubscription): Promise<number> {
    const row = await this.#db.kysely
      .insertInto('jmap_push_subscriptions')
      .values({
        account_id: accountId,
        device_client_id: sub.deviceClientId,
        url: sub.url,
        p256dh: sub.keys?.p256dh ?? null,
        auth: sub.keys?.auth ?? null,
        verification_code: sub.verificationCode,
        verified: 0,
        expires: sub.expires,
        types: sub.types,
        created_at: sub.createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Updates the settable values of one subscription (RFC 8620 §7.2.2). */
  async update(id: number, set: { verified?: number; expires?: number; types?: string | null }): Promise<void> {
    if (Object.keys(set).length) await this.#db.kysely.updateTable('jmap_push_subscriptions').set(set).where('id', '=', id).execute();
  }

  /** Ends one subscription (destroy, or the push service answered 404/410, RFC 8030 §7.3). */
  async destroy(id: number): Promise<void> {
    await this.#db.kysely.deleteFrom('jmap_push_subscriptions').where('id', '=', id).execute();
  }

  /** The code sent in a subscription's PushVerification (RFC 8620 §7.2.2). */
  async verificationCode(id: number): Promise<string> {
    const row = await this.#db.kysely
      .selectFrom('jmap_push_subscriptions')
      .select('verification_code')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return row.verification_code;
  }

  /**
   * The verified, unexpired subscriptions a change to `ownerId`'s data may concern, in one query:
   * the owner's, and with `shared` those of accounts that may hold rights on its mailboxes (a
   * grant, or any account of the owner's domain once an `anyone` entry exists, RFC 4314 §2). The
   * caller confirms the others' effective rights (`SharingStore.sharedMailboxes`).
   */
  activeFor(ownerId: number, shared: boolean, now: number): Promise<Array<{ id: number; account_id: number; types: string | null }>> {
    return this.#db.kysely
      .selectFrom('jmap_push_subscriptions as s')
      .select(['s.id', 's.account_id', 's.types'])
      .where('s.verified', '=', 1)
      .where('s.expires', '>', now)
      .where((eb) => {
        const own = eb('s.account_id', '=', ownerId);
        if (!shared) return own;
        const anyone = eb.exists(
          eb.selectFrom('mail_acl_identifiers').select('mailbox_id').where('owner_id', '=', ownerId).where('identifier', '=', ANYONE),
        );
        const sameDomain = eb
          .selectFrom('accounts as a')
          .innerJoin('accounts as o', 'o.domain_id', 'a.domain_id')
          .select('a.id')
          .where('o.id', '=', ownerId);
        return eb.or([
          own,
          eb('s.account_id', 'in', eb.selectFrom('mail_acl').select('grantee_id').where('owner_id', '=', ownerId)),
          eb.and([anyone, eb('s.account_id', 'in', sameDomain)]),
        ]);
      })
      .orderBy('s.id')
      .execute();
  }

  /** Queues messages, each for one subscription, due now. */
  async enqueue(items: ReadonlyArray<{ readonly subscriptionId: number; readonly payload: string }>, now: number): Promise<void> {
    if (!items.length) return;
    await this.#db.kysely
      .insertInto('jmap_push_outbox')
      .values(items.map((m) => ({ subscription_id: m.subscriptionId, payload: m.payload, next_at: now, created_at: now })))
      .execute();
  }

  /** Drops expired subscriptions and lists up to `limit` due, unleased messages. */
  async due(now: number, limit: number): Promise<number[]> {
    const k = this.#db.kysely;
    await k.deleteFrom('jmap_push_subscriptions').where('expires', '<=', now).execute();
    const rows = await k
      .selectFrom('jmap_push_outbox')
      .select('id')
      .where('next_at', '<=', now)
      .where('lease_until', '<=', now)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Claims a message until `leaseUntil`: true for exactly one node (a conditional update). */
  async claim(id: number, now: number, leaseUntil: number): Promise<boolean> {
    const claimed = await this.#db.kysely
      .updateTable('jmap_push_outbox')
      .set((eb) => ({ lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('lease_until', '<=', now)
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) === 1;
  }

  /** A claimed message and its subscription's URL and keys; undefined once the subscription is gone. */
  async outboxItem(id: number): Promise<PushOutboxItem | undefined> {
    const row = await this.#db.kysely
      .selectFrom('jmap_push_outbox')
      .innerJoin('jmap_push_subscriptions', 'jmap_push_subscriptions.id', 'jmap_push_outbox.subscription_id')
      .select([
        'jmap_push_outbox.payload',
        'jmap_push_outbox.attempts',
        'jmap_push_outbox.subscription_id',
        'jmap_push_subscriptions.url',
        'jmap_push_subscriptions.p256dh',
        'jmap_push_subscriptions.auth',
      ])
      .where('jmap_push_outbox.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      payload: row.payload,
      attempts: Number(row.attempts),
      subscriptionId: row.subscription_id,
      url: row.url,
      p256dh: row.p256dh,
      auth: row.auth,
    };
  }

  /** Removes a sent (or given-up) message from the outbox. */
  async sent(id: number): Promise<void> {
    await this.#db.kysely.deleteFrom('jmap_push_outbox').where('id', '=', id).execute();
  }

  /** Releases a message's lease for another try at `nextAt`. */
  async retryAt(id: number, nextAt: number): Promise<void> {
    await this.#db.kysely.updateTable('jmap_push_outbox').set({ lease_until: 0, next_at: nextAt }).where('id', '=', id).execute();
  }

  /**
   * The server's VAPID key pair (RFC 8292 §3.2), made by `make` on first use and shared through
   * the database by every node (the first insert wins; the others read it).
   */
  async vapidKeys(make: () => VapidKeys): Promise<VapidKeys> {
    const k = this.#db.kysely;
    const found = await k.selectFrom('jmap_vapid').selectAll().where('id', '=', 1).executeTakeFirst();
    if (found) return { publicKey: found.public_key, privateKey: found.private_key };
    const made = make();
    await k
      .insertInto('jmap_vapid')
      .values({ id: 1, public_key: made.publicKey, private_key: made.privateKey })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await k.selectFrom('jmap_vapid').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    return { publicKey: row.public_key, privateKey: row.private_key };
  }
}
