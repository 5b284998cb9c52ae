import type { Selectable } from 'kysely';
import type { Db } from '../../store/db.ts';
import type { JmapSubmissionTable } from '../../store/schema.ts';
import type { LoggedWrite } from '../logged-write.ts';

/** A stored submission (RFC 8621 §7 EmailSubmission); `envelope` and `delivery_status` are JSON. */
export type SubmissionRow = Selectable<JmapSubmissionTable>;

/** A recipient's DeliveryStatus (RFC 8621 §7). */
export interface DeliveryStatus {
  smtpReply: string;
  delivered: 'queued' | 'yes' | 'no' | 'unknown';
  displayed: 'unknown' | 'yes';
}

/** What is recorded of a message sent for an account (RFC 8621 §7). */
export interface SubmissionRecord {
  readonly identityId: number;
  readonly emailId: number;
  readonly threadId: number;
  readonly envelope: unknown;
  readonly sendAt: number;
  readonly deliveryStatus: Readonly<Record<string, DeliveryStatus>>;
  readonly queueId: number | undefined;
}

/**
 * The record of what an account sent (RFC 8621 §7), with its delivery status followed in the
 * outbound queue. Writes go through the mail store's one unit of work (src/mail/logged-write.ts),
 * logged as `EmailSubmission` changes that reach every node's push clients.
 */
export class SubmissionRecords {
  readonly #db: Db;
  readonly #write: LoggedWrite;

  constructor(db: Db, write: LoggedWrite) {
    this.#db = db;
    this.#write = write;
  }

  /** The account's submissions, oldest first. */
  list(accountId: number): Promise<SubmissionRow[]> {
    return this.#db.kysely.selectFrom('jmap_submissions').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
  }

  /** Records a sent message (its undo status is `final`: it left at once); resolves with its id. */
  add(accountId: number, r: SubmissionRecord): Promise<number> {
    return this.#write(accountId, 'EmailSubmission', async (trx) => {
      const row = await trx
        .insertInto('jmap_submissions')
        .values({
          account_id: accountId,
          identity_id: r.identityId,
          email_id: r.emailId,
          thread_id: r.threadId,
          envelope: JSON.stringify(r.envelope),
          send_at: r.sendAt,
          undo_status: 'final',
          delivery_status: JSON.stringify(r.deliveryStatus),
          queue_id: r.queueId ?? null,
          created_at: r.sendAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { value: row.id, changes: [{ id: row.id, kind: 'created' }] };
    });
  }

  /** Forgets a submission (the message itself is not affected). */
  destroy(accountId: number, id: number): Promise<void> {
    return this.#write(accountId, 'EmailSubmission', async (trx) => {
      await trx.deleteFrom('jmap_submissions').where('id', '=', id).where('account_id', '=', accountId).execute();
      return { value: undefined, changes: [{ id, kind: 'destroyed' }] };
    });
  }

  /**
   * The delivery status per recipient: stored at submission for local recipients, and read live
   * from the outbound queue for remote ones (queued → sent or bounced). A final answer seen in the
   * queue is kept, because the queue drops a message once every recipient is done; one that was
   * never seen final before that is reported `unknown` (a failure reaches the sender as a DSN).
   */
  async deliveryStatus(row: SubmissionRow): Promise<Record<string, DeliveryStatus>> {
    const status = JSON.parse(row.delivery_status) as Record<string, DeliveryStatus>;
    const pending = Object.values(status).some((s) => s.delivered === 'queued');
    if (row.queue_id === null || !pending) return status;
    const queued = await this.#db.kysely
      .selectFrom('queue_recipients')
      .select(['recipient', 'status', 'last_error'])
      .where('message_id', '=', row.queue_id)
      .execute();
    const inQueue = new Map(queued.map((q) => [q.recipient, q]));
    let final = false;
    for (const [recipient, s] of Object.entries(status)) {
      if (s.delivered !== 'queued') continue;
      const q = inQueue.get(recipient);
      if (!q) {
        Object.assign(s, { delivered: 'unknown', smtpReply: '250 2.0.0 Handed to the outbound queue; its final answer was not recorded' });
        final = true;
      } else if (q.status === 'sent') {
        Object.assign(s, { delivered: 'yes', smtpReply: q.last_error ?? '250 2.0.0 OK' });
        final = true;
      } else if (q.status === 'failed') {
        Object.assign(s, { delivered: 'no', smtpReply: q.last_error ?? '550 5.0.0 Delivery failed' });
        final = true;
      } else if (q.last_error) {
        s.smtpReply = `250 2.0.0 Queued; last attempt: ${q.last_error}`.slice(0, 500);
      }
    }
    if (final) {
      await this.#db.kysely
        .updateTable('jmap_submissions')
        .set({ delivery_status: JSON.stringify(status) })
        .where('id', '=', row.id)
        .execute();
    }
    return status;
  }
}
