import type { Selectable } from 'kysely';
import type { JmapSubmissionTable } from '../../../store/schema.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';
import type { JsonValue } from '../i-json.ts';
import { toId } from '../ids.ts';

export type SubmissionRow = Selectable<JmapSubmissionTable>;

export const SUBMISSION_PROPERTIES = [
  'id',
  'identityId',
  'emailId',
  'threadId',
  'envelope',
  'sendAt',
  'undoStatus',
  'deliveryStatus',
  'dsnBlobIds',
  'mdnBlobIds',
] as const;

/** A recipient's DeliveryStatus (RFC 8621 §7). */
export interface DeliveryStatus {
  smtpReply: string;
  delivered: 'queued' | 'yes' | 'no' | 'unknown';
  displayed: 'unknown' | 'yes';
}

export async function listSubmissions(services: JmapServices, accountId: number): Promise<SubmissionRow[]> {
  return services.db.kysely.selectFrom('jmap_submissions').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
}

/**
 * The delivery status per recipient: stored at submission for local recipients, and read live
 * from the outbound queue for remote ones (queued → sent or bounced). A final answer seen in the
 * queue is kept, because the queue drops a message once every recipient is done; one that was
 * never seen final before that is reported `unknown` (a failure reaches the sender as a DSN).
 */
async function deliveryStatus(services: JmapServices, row: SubmissionRow): Promise<Record<string, DeliveryStatus>> {
  const status = JSON.parse(row.delivery_status) as Record<string, DeliveryStatus>;
  const pending = Object.values(status).some((s) => s.delivered === 'queued');
  if (row.queue_id === null || !pending) return status;
  const queued = await services.db.kysely
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
    await services.db.kysely
      .updateTable('jmap_submissions')
      .set({ delivery_status: JSON.stringify(status) })
      .where('id', '=', row.id)
      .execute();
  }
  return status;
}

/** The JMAP EmailSubmission object of a row (RFC 8621 §7). */
export async function submissionObject(services: JmapServices, row: SubmissionRow): Promise<JsonObject> {
  return {
    id: toId('submission', row.id),
    identityId: toId('identity', row.identity_id),
    emailId: toId('email', row.email_id),
    threadId: toId('thread', row.thread_id),
    envelope: JSON.parse(row.envelope) as JsonValue,
    sendAt: utcDate(row.send_at),
    undoStatus: row.undo_status,
    deliveryStatus: (await deliveryStatus(services, row)) as unknown as JsonObject,
    dsnBlobIds: [],
    mdnBlobIds: [],
  };
}
