import { tryParseAddress } from '../../../core/address.ts';
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
    for (const accountId of new Set(local.values())) await deps.mail.deliver(accountId, input.message);
    const smtputf8 = /[^\x00-\x7f]/.test(input.sender) || input.recipients.some((r) => /[^\x00-\x7f]/.test(r));
    const queueId = remote.length
      ? await deps.enqueue({ sender: input.sender, recipients: remote, message: input.message, accountId: input.accountId, smtputf8 })
      : undefined;
    await deps.limits?.record(input.accountId, input.recipients.length);
    return { ok: true, ...(queueId !== undefined ? { queueId } : {}), local: [...local.keys()], remote };
  };
}
