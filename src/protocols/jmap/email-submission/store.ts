import type { DeliveryStatus, SubmissionRow } from '../../../mail/submission/records.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';
import type { JsonValue } from '../i-json.ts';
import { toId } from '../ids.ts';

export type { DeliveryStatus, SubmissionRow };

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

/** The account's submissions, oldest first. */
export function listSubmissions(services: JmapServices, accountId: number): Promise<SubmissionRow[]> {
  return services.mail.submissions.list(accountId);
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
    deliveryStatus: (await services.mail.submissions.deliveryStatus(row)) as unknown as JsonObject,
    dsnBlobIds: [],
    mdnBlobIds: [],
  };
}
