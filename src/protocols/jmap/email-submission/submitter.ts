import { tryParseAddress } from '../../../core/address.ts';
import { isFingerpostError } from '../../../core/errors.ts';
import type { Directory } from '../../../directory/directory.ts';
import type { MailStore } from '../../../mail/store.ts';
import type { SubmissionOutcome, Submitter } from '../context.ts';

/** The outbound queue's enqueue (DKIM-signing when the From domain has a key). */
export type Enqueue = (input: {
  sender: string;
  recipients: readonly string[];
  message: Buffer;
  accountId?: number;
  smtputf8?: boolean;
}) => Promise<number>;

/** Per-account sending limits shared with SMTP submission (a refusal, or undefined when within limits). */
export interface SendingLimiter {
  check(accountId: number, recipients: number): Promise<unknown>;
  record(accountId: number, recipients: number): Promise<void>;
}

/**
 * The JMAP side of sending (RFC 8621 §7.5): the same rules as SMTP submission. Recipients in
 * local domains must exist and are delivered straight into their account (durably) before this
 * resolves; the others go to the outbound queue. Sending limits are checked first and counted.
 */
export function createSubmitter(deps: { directory: Directory; mail: MailStore; enqueue: Enqueue; limits?: SendingLimiter }): Submitter {
  return async (input): Promise<SubmissionOutcome> => {
    if (!input.recipients.length) return { ok: false, type: 'noRecipients', description: 'the envelope has no recipients' };
    if (deps.limits && (await deps.limits.check(input.accountId, input.recipients.length))) {
      return { ok: false, type: 'rateLimit', description: 'sending limit reached; try again later' };
    }
    const local = new Map<string, number>();
    const remote: string[] = [];
    const invalid: string[] = [];
    for (const r of input.recipients) {
      const parsed = tryParseAddress(r);
      if (!parsed) {
        invalid.push(r);
        continue;
      }
      if (await deps.directory.findDomain(parsed.domain)) {
        const account = await deps.directory.findRecipient(parsed.normalized);
        if (!account || account.disabled) invalid.push(r);
        else local.set(r, account.id);
      } else {
        remote.push(r);
      }
    }
    if (invalid.length)
      return { ok: false, type: 'invalidRecipients', description: 'some recipients do not exist', invalidRecipients: invalid };
    // RFC 8621 §7.5: a local recipient whose mailbox is full is refused synchronously, before any
    // copy is made, like SMTP's 452 4.2.2 (RFC 3463 X.2.2). Nothing was sent, so there is no
    // EmailSubmission to carry a deliveryStatus (§7's `delivered: "no"` means a permanent failure
    // after acceptance); the create fails with `forbiddenToSend`, "not permitted to send right now",
    // and the client may retry. All or nothing, as for invalid recipients above.
    const full: string[] = [];
    for (const [address, accountId] of local) {
      const quota = await deps.mail.storageQuota(accountId);
      if (quota.limit !== null && quota.used + input.message.length > quota.limit) full.push(address);
    }
    if (full.length) return mailboxFull(full);
    for (const accountId of new Set(local.values())) {
      try {
        await deps.mail.deliver(accountId, input.message);
      } catch (err) {
        // Another write filled this mailbox since the check above (copies already made stay, as in SMTP).
        if (isFingerpostError(err, 'over_quota')) return mailboxFull([...local].filter(([, id]) => id === accountId).map(([a]) => a));
        throw err;
      }
    }
    const smtputf8 = /[^\x00-\x7f]/.test(input.sender) || input.recipients.some((r) => /[^\x00-\x7f]/.test(r));
    const queueId = remote.length
      ? await deps.enqueue({ sender: input.sender, recipients: remote, message: input.message, accountId: input.accountId, smtputf8 })
      : undefined;
    await deps.limits?.record(input.accountId, input.recipients.length);
    return { ok: true, ...(queueId !== undefined ? { queueId } : {}), local: [...local.keys()], remote };
  };
}

function mailboxFull(recipients: readonly string[]): SubmissionOutcome {
  return { ok: false, type: 'forbiddenToSend', description: `452 4.2.2 Mailbox full, try again later: ${recipients.join(', ')}` };
}
