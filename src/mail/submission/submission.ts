import { tryParseAddress } from '../../core/address.ts';
import { FingerpostError, isFingerpostError } from '../../core/errors.ts';
import type { Directory } from '../../directory/directory.ts';
import type { StorageQuota } from '../store.ts';
import type { DeliveryContext, DeliveryOutcome } from '../sieve/deliver.ts';
import type { LimitReached, SendingLimits } from './sending-limits.ts';

/** Which envelope senders an authenticated account may use on submission (`submission.sender_policy`). */
export type SenderPolicy = 'own' | 'domain' | 'any';

/** The outbound queue's durable enqueue (DKIM-signing when the From domain has a key); resolves with the queue id. */
export type Enqueue = (input: {
  sender: string;
  recipients: readonly string[];
  message: Buffer;
  accountId?: number;
  smtputf8?: boolean;
}) => Promise<number>;

/** Where an envelope recipient goes (RFC 5321 §3.6): an account of a local domain, or another host. */
export type RecipientVerdict =
  | { readonly kind: 'local'; readonly accountId: number }
  | { readonly kind: 'remote' }
  | { readonly kind: 'invalid' | 'unknown' | 'disabled' };

/** Whether a local mailbox has room for a message (RFC 3463 X.2.2): `never` when it exceeds the whole quota. */
export type Room = 'fits' | 'full' | 'never';

/** A whole message handed over by an authenticated account (JMAP EmailSubmission, automatic replies). */
export interface SubmissionInput {
  readonly accountId: number;
  /** Envelope MAIL FROM. */
  readonly sender: string;
  /** Envelope RCPT TO, deduplicated. */
  readonly recipients: readonly string[];
  readonly message: Buffer;
}

/** How a submission went: accepted (durably), or refused before anything was sent. */
export type SubmissionOutcome =
  | { readonly ok: true; readonly queueId?: number; readonly local: readonly string[]; readonly remote: readonly string[] }
  | {
      readonly ok: false;
      readonly reason: 'noRecipients' | 'limitReached' | 'invalidRecipients' | 'mailboxFull';
      readonly description: string;
      /** The recipients the refusal is about (unknown ones, or those whose mailbox is full). */
      readonly recipients?: readonly string[];
    };

export interface MailSubmissionDeps {
  readonly directory: Pick<Directory, 'findDomain' | 'findRecipient' | 'addressesOf'>;
  readonly mail: {
    storageQuota(accountId: number): Promise<StorageQuota>;
    deliver(accountId: number, raw: Buffer, options?: { role?: string }): Promise<unknown>;
  };
  readonly enqueue: Enqueue;
  readonly senderPolicy: SenderPolicy;
  readonly limits?: SendingLimits;
  /**
   * Delivery into one local account of a whole-message submission (JMAP EmailSubmission,
   * RFC 8621 §7.5): through the account's Sieve script (src/mail/sieve/deliver.ts), as SMTP
   * delivery does; without it, straight into the INBOX.
   */
  readonly deliverLocal?: (accountId: number, message: Buffer, context: DeliveryContext) => Promise<DeliveryOutcome>;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * The one submission use case (RFC 6409 §4–§8) behind SMTP submission, JMAP EmailSubmission
 * (RFC 8621 §7.5) and automatic replies: sender policy, per-account sending limits, the split of
 * recipients into local accounts and remote hosts, local quota, local delivery and the queue.
 */
export class MailSubmission {
  readonly #d: MailSubmissionDeps;

  constructor(deps: MailSubmissionDeps) {
    this.#d = deps;
  }

  /**
   * May the account use `address` as sender (RFC 6409 §6.1)? Its own addresses and aliases, any
   * address in their domains, or anything, per `submission.sender_policy`; `*@domain` (an
   * RFC 8621 §6 Identity wildcard) only under `domain`. The null sender only under `any`.
   */
  async maySendAs(accountId: number, address: string): Promise<boolean> {
    const policy = this.#d.senderPolicy;
    if (policy === 'any') return true;
    if (!address) return false;
    const own = (await this.#d.directory.addressesOf(accountId)).map((a) => a.toLowerCase());
    const lower = address.toLowerCase();
    if (lower.startsWith('*@')) return policy === 'domain' && own.some((a) => domainOf(a) === lower.slice(2));
    return policy === 'own' ? own.includes(lower) : own.some((a) => domainOf(a) === domainOf(lower));
  }

  /** The sending limit the account has reached, or would with `recipients` more; undefined within limits. */
  limitReached(accountId: number, recipients: number): Promise<LimitReached | undefined> {
    return this.#d.limits ? this.#d.limits.check(accountId, recipients) : Promise.resolve(undefined);
  }

  /** Where `address` goes: an enabled account of a local domain, another host, or nowhere. */
  async recipient(address: string): Promise<RecipientVerdict> {
    const parsed = tryParseAddress(address);
    if (!parsed) return { kind: 'invalid' };
    if (!(await this.#d.directory.findDomain(parsed.domain))) return { kind: 'remote' };
    const account = await this.#d.directory.findRecipient(parsed.normalized);
    if (!account) return { kind: 'unknown' };
    if (account.disabled) return { kind: 'disabled' };
    return { kind: 'local', accountId: account.id };
  }

  /** Whether the account's mailbox can take `size` more octets (its storage quota, RFC 9208 §5.1). */
  async room(accountId: number, size: number): Promise<Room> {
    const quota = await this.#d.mail.storageQuota(accountId);
    if (quota.limit === null || quota.used + size <= quota.limit) return 'fits';
    return size > quota.limit ? 'never' : 'full';
  }

  /**
   * Hands an accepted message over (RFC 5321 §6.1: each copy durable before this resolves): one
   * copy into each local account (its INBOX, or the mailbox with `role`), the remote recipients
   * to the queue, and the submission counted against `accountId`'s limits when given. A mailbox
   * filled by another write since `room` was asked stops it: `{ full }` names that account.
   */
  async handOver(input: {
    readonly sender: string;
    readonly accounts: readonly number[];
    readonly remote: readonly string[];
    readonly message: Buffer;
    readonly recipientCount: number;
    readonly accountId?: number;
    readonly role?: 'junk';
    readonly smtputf8?: boolean;
    /**
     * Delivery into one local account in place of the plain one (MX mail through the account's
     * Sieve script, src/mail/sieve/deliver.ts); a refusal (Sieve reject) stops the hand-over.
     */
    readonly deliverLocal?: (
      accountId: number,
      message: Buffer,
    ) => Promise<{ readonly refused: false } | { readonly refused: true; readonly reason: string }>;
  }): Promise<{ readonly queueId?: number } | { readonly full: number } | { readonly refused: string }> {
    for (const accountId of input.accounts) {
      try {
        if (input.deliverLocal) {
          const done = await input.deliverLocal(accountId, input.message);
          if (done.refused) return { refused: done.reason };
        } else {
          await this.#d.mail.deliver(accountId, input.message, input.role ? { role: input.role } : {});
        }
      } catch (err) {
        if (isFingerpostError(err, 'over_quota')) return { full: accountId };
        throw err;
      }
    }
    const queueId = input.remote.length
      ? await this.#d.enqueue({
          sender: input.sender,
          recipients: input.remote,
          message: input.message,
          ...(input.accountId !== undefined ? { accountId: input.accountId } : {}),
          ...(input.smtputf8 !== undefined ? { smtputf8: input.smtputf8 } : {}),
        })
      : undefined;
    if (input.accountId !== undefined) await this.#d.limits?.record(input.accountId, input.recipientCount);
    return queueId === undefined ? {} : { queueId };
  }

  /**
   * Sends a whole message for an account (RFC 8621 §7.5): all or nothing. Sending limits first;
   * every recipient must exist when its domain is local, and every local mailbox must have room
   * (RFC 3463 X.2.2) before any copy is made; then `handOver`. The sender policy is the
   * caller's to check, since JMAP names its own error for it and automatic replies use `<>`.
   */
  async submit(input: SubmissionInput): Promise<SubmissionOutcome> {
    if (!input.recipients.length) return { ok: false, reason: 'noRecipients', description: 'the envelope has no recipients' };
    if (await this.limitReached(input.accountId, input.recipients.length))
      return { ok: false, reason: 'limitReached', description: 'sending limit reached; try again later' };
    const local = new Map<string, number>();
    const remote: string[] = [];
    const invalid: string[] = [];
    for (const r of input.recipients) {
      const verdict = await this.recipient(r);
      if (verdict.kind === 'local') local.set(r, verdict.accountId);
      else if (verdict.kind === 'remote') remote.push(r);
      else invalid.push(r);
    }
    if (invalid.length) return { ok: false, reason: 'invalidRecipients', description: 'some recipients do not exist', recipients: invalid };
    const full: string[] = [];
    for (const [address, accountId] of local) if ((await this.room(accountId, input.message.length)) !== 'fits') full.push(address);
    if (full.length) return mailboxFull(full);
    const smtputf8 = /[^\x00-\x7f]/.test(input.sender) || input.recipients.some((r) => /[^\x00-\x7f]/.test(r));
    const done = await this.handOver({
      sender: input.sender,
      accounts: [...new Set(local.values())],
      remote,
      message: input.message,
      recipientCount: input.recipients.length,
      accountId: input.accountId,
      smtputf8,
      ...(this.#d.deliverLocal ? { deliverLocal: this.#filtered(input.sender, local, this.#d.deliverLocal) } : {}),
    });
    // Another write filled this mailbox since the check above (copies already made stay, as in SMTP).
    if ('full' in done) return mailboxFull([...local].filter(([, id]) => id === done.full).map(([a]) => a));
    if ('refused' in done) throw new FingerpostError('internal', 'a submission was refused by a filter that cannot refuse it');
    return { ok: true, ...done, local: [...local.keys()], remote };
  }

  /**
   * Local delivery of an accepted submission through `deliver` (the recipient's Sieve script):
   * the message is already accepted, so a reject becomes a notice to the sender (RFC 5429 §2.2.1),
   * never a refusal of the submission.
   */
  #filtered(
    sender: string,
    local: ReadonlyMap<string, number>,
    deliver: NonNullable<MailSubmissionDeps['deliverLocal']>,
  ): (accountId: number, message: Buffer) => Promise<DeliveryOutcome> {
    return (accountId, message) => {
      const recipient = [...local].find(([, id]) => id === accountId)?.[0] ?? '';
      return deliver(accountId, message, { sender, recipient, junk: false, canRefuse: false });
    };
  }
}

function mailboxFull(recipients: readonly string[]): SubmissionOutcome {
  return { ok: false, reason: 'mailboxFull', description: `452 4.2.2 Mailbox full, try again later: ${recipients.join(', ')}`, recipients };
}
