import { randomId } from '../../core/ids.ts';
import { FingerpostError } from '../../core/errors.ts';
import type { BlobStore } from '../../store/blobs.ts';
import { releaseBlob } from '../../store/blob-gc.ts';
import type { Db } from '../../store/db.ts';

/** A queued message with its recipients, as `admin queue list` shows it. */
export interface QueueEntry {
  readonly id: number;
  readonly sender: string;
  readonly size: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly recipients: ReadonlyArray<{
    readonly id: number;
    readonly recipient: string;
    readonly status: 'queued' | 'sent' | 'failed';
    readonly attempts: number;
    readonly nextAttemptAt: number;
    readonly lastError: string | null;
  }>;
}

/** Recipients claimed by one worker for one delivery attempt: one message, one destination domain. */
export interface ClaimedBatch {
  readonly messageId: number;
  readonly blobId: string;
  readonly size: number;
  readonly sender: string;
  readonly smtputf8: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly domain: string;
  readonly recipients: ReadonlyArray<{ readonly id: number; readonly recipient: string; readonly attempts: number }>;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * The durable outbound queue: a message is stored (blob fsynced, rows committed) before the
 * submission is acknowledged; each recipient has its own state so a partial success is never
 * re-sent. Workers lease recipients (`locked_by`/`locked_until`) so two nodes never deliver the
 * same one at once.
 */
export class OutboundQueue {
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #nudge: (() => void) | undefined;

  constructor(db: Db, blobs: BlobStore, options: { maxAgeMs: number; now?: () => number }) {
    this.#db = db;
    this.#blobs = blobs;
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now ?? Date.now;
  }

  /** Called after each enqueue so a local worker starts at once instead of at its next poll. */
  onEnqueue(fn: () => void): void {
    this.#nudge = fn;
  }

  /** Stores a message for remote `recipients`; resolves once it is durable. */
  async enqueue(input: {
    sender: string;
    recipients: readonly string[];
    message: Buffer;
    accountId?: number;
    smtputf8?: boolean;
  }): Promise<number> {
    if (!input.recipients.length) throw new FingerpostError('invalid_argument', 'a queued message needs recipients');
    const blobId = await this.#blobs.put(input.message);
    const now = this.#now();
    const id = await this.#db.kysely.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('queue_messages')
        .values({
          blob_id: blobId,
          size: input.message.length,
          sender: input.sender,
          account_id: input.accountId ?? null,
          smtputf8: input.smtputf8 ? 1 : 0,
          created_at: now,
          expires_at: now + this.#maxAgeMs,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('queue_recipients')
        .values(
          input.recipients.map((recipient) => ({
            message_id: row.id,
            recipient,
            domain: domainOf(recipient),
            status: 'queued',
            attempts: 0,
            next_attempt_at: now,
            updated_at: now,
          })),
        )
        .execute();
      return Number(row.id);
    });
    this.#nudge?.();
    return id;
  }

  /**
   * Leases due recipients for `leaseMs` and groups them by message and domain. Only rows whose
   * lease is free are taken, re-checked in the UPDATE itself, so concurrent workers never share one.
   */
  async claim(worker: string, limit: number, leaseMs: number): Promise<ClaimedBatch[]> {
    const now = this.#now();
    const due = await this.#db.kysely
      .selectFrom('queue_recipients')
      .select('id')
      .where('status', '=', 'queued')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    if (!due.length) return [];
    const token = `${worker}:${randomId()}`;
    await this.#db.kysely
      .updateTable('queue_recipients')
      .set({ locked_by: token, locked_until: now + leaseMs })
      .where(
        'id',
        'in',
        due.map((d) => d.id),
      )
      .where('status', '=', 'queued')
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .execute();
    const rows = await this.#db.kysely
      .selectFrom('queue_recipients as r')
      .innerJoin('queue_messages as m', 'm.id', 'r.message_id')
      .select([
        'r.id',
        'r.recipient',
        'r.domain',
        'r.attempts',
        'm.id as message_id',
        'm.blob_id',
        'm.size',
        'm.sender',
        'm.smtputf8',
        'm.created_at',
        'm.expires_at',
      ])
      .where('r.locked_by', '=', token)
      .orderBy('r.id')
      .execute();
    const batches = new Map<string, ClaimedBatch & { recipients: Array<{ id: number; recipient: string; attempts: number }> }>();
    for (const r of rows) {
      const key = `${r.message_id}\0${r.domain}`;
      let b = batches.get(key);
      if (!b) {
        b = {
          messageId: Number(r.message_id),
          blobId: r.blob_id,
          size: Number(r.size),
          sender: r.sender,
          smtputf8: r.smtputf8 === 1,
          createdAt: Number(r.created_at),
          expiresAt: Number(r.expires_at),
          domain: r.domain,
          recipients: [],
        };
        batches.set(key, b);
      }
      b.recipients.push({ id: Number(r.id), recipient: r.recipient, attempts: Number(r.attempts) });
    }
    return [...batches.values()];
  }

  readMessage(blobId: string): Promise<Buffer> {
    return this.#blobs.get(blobId);
  }

  /** Records a successful delivery: the recipient is never tried again. */
  async markSent(recipientId: number, response: string): Promise<void> {
    const now = this.#now();
    await this.#db.kysely
      .updateTable('queue_recipients')
      .set({
        status: 'sent',
        last_error: response.slice(0, 500),
        last_attempt_at: now,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      })
      .where('id', '=', recipientId)
      .execute();
  }

  /** Schedules another attempt at `nextAttemptAt`. */
  async markDeferred(recipientId: number, error: string, nextAttemptAt: number): Promise<void> {
    const now = this.#now();
    await this.#db.kysely
      .updateTable('queue_recipients')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        next_attempt_at: nextAttemptAt,
        last_error: error.slice(0, 500),
        last_attempt_at: now,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      }))
      .where('id', '=', recipientId)
      .execute();
  }

  /** Gives up on a recipient (5xx, expiry): the caller sends the bounce. */
  async markFailed(recipientId: number, error: string): Promise<void> {
    const now = this.#now();
    await this.#db.kysely
      .updateTable('queue_recipients')
      .set((eb) => ({
        status: 'failed',
        attempts: eb('attempts', '+', 1),
        last_error: error.slice(0, 500),
        last_attempt_at: now,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      }))
      .where('id', '=', recipientId)
      .execute();
  }

  /**
   * Removes a message whose recipients are all done (sent or failed), and its blob unless a
   * mailbox copy or another queued message uses the same bytes.
   */
  async finishIfDone(messageId: number): Promise<boolean> {
    const open = await this.#db.kysely
      .selectFrom('queue_recipients')
      .select('id')
      .where('message_id', '=', messageId)
      .where('status', '=', 'queued')
      .limit(1)
      .execute();
    if (open.length) return false;
    const msg = await this.#db.kysely.selectFrom('queue_messages').select('blob_id').where('id', '=', messageId).executeTakeFirst();
    if (!msg) return true;
    await this.#db.kysely.deleteFrom('queue_messages').where('id', '=', messageId).execute();
    await this.#dropBlobIfUnused(msg.blob_id);
    return true;
  }

  async #dropBlobIfUnused(blobId: string): Promise<void> {
    await releaseBlob(this.#db, this.#blobs, blobId);
  }

  /** Every queued message with its recipients, oldest first. */
  async list(): Promise<QueueEntry[]> {
    const messages = await this.#db.kysely.selectFrom('queue_messages').selectAll().orderBy('id').execute();
    if (!messages.length) return [];
    const recipients = await this.#db.kysely
      .selectFrom('queue_recipients')
      .selectAll()
      .where(
        'message_id',
        'in',
        messages.map((m) => m.id),
      )
      .orderBy('id')
      .execute();
    return messages.map((m) => ({
      id: Number(m.id),
      sender: m.sender,
      size: Number(m.size),
      createdAt: Number(m.created_at),
      expiresAt: Number(m.expires_at),
      recipients: recipients
        .filter((r) => Number(r.message_id) === Number(m.id))
        .map((r) => ({
          id: Number(r.id),
          recipient: r.recipient,
          status: r.status as 'queued' | 'sent' | 'failed',
          attempts: Number(r.attempts),
          nextAttemptAt: Number(r.next_attempt_at),
          lastError: r.last_error,
        })),
    }));
  }

  /** Makes queued recipients due now (one message, or all when `messageId` is undefined). Returns how many. */
  async retryNow(messageId?: number): Promise<number> {
    let q = this.#db.kysely.updateTable('queue_recipients').set({ next_attempt_at: this.#now() }).where('status', '=', 'queued');
    if (messageId !== undefined) q = q.where('message_id', '=', messageId);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Deletes a message from the queue without delivering or bouncing it. */
  async remove(messageId: number): Promise<void> {
    const msg = await this.#db.kysely.selectFrom('queue_messages').select('blob_id').where('id', '=', messageId).executeTakeFirst();
    if (!msg)
      throw new FingerpostError('not_found', `no queued message ${messageId}`, { hint: 'list them with: fingerpost admin queue list' });
    await this.#db.kysely.deleteFrom('queue_recipients').where('message_id', '=', messageId).execute();
    await this.#db.kysely.deleteFrom('queue_messages').where('id', '=', messageId).execute();
    await this.#dropBlobIfUnused(msg.blob_id);
  }
}
