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
 * from the outbound queue for remote ones (queued → sent or bounced).
 */
async function deliveryStatus(services: JmapServices, row: SubmissionRow): Promise<Record<string, DeliveryStatus>> {
  const status = JSON.parse(row.delivery_status) as Record<string, DeliveryStatus>;
  if (row.queue_id === null) return status;
  const queued = await services.db.kysely
    .selectFrom('queue_recipients')
    .select(['recipient', 'status', 'last_error'])
    .where('message_id', '=', row.queue_id)
    .execute();
  for (const q of queued) {
    const s = status[q.recipient];
    if (!s) continue;
    if (q.status === 'sent') Object.assign(s, { delivered: 'yes', smtpReply: q.last_error ?? '250 2.0.0 OK' });
    else if (q.status === 'failed') Object.assign(s, { delivered: 'no', smtpReply: q.last_error ?? '550 5.0.0 Delivery failed' });
    else if (q.last_error) s.smtpReply = `250 2.0.0 Queued; last attempt: ${q.last_error}`.slice(0, 500);
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
