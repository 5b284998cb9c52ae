import { tryParseAddress } from '../../core/address.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import { isFingerpostError } from '../../core/errors.ts';
import type { InboundChecks } from '../../mail/inbound/checks.ts';
import type { DeliveryContext, DeliveryOutcome } from '../../mail/sieve/deliver.ts';
import type { StorageQuota } from '../../mail/store.ts';
import { type Reply, reply } from './reply.ts';
import type { SendingLimits } from './sending-limits.ts';
import type { MailEnvelope, Recipient, SessionView, TransactionHandler } from './transaction.ts';

/** Which envelope senders an authenticated account may use on submission. */
export type SenderPolicy = 'own' | 'domain' | 'any';

export interface MailTransactionOptions {
  readonly directory: Directory;
  /**
   * Durable delivery into an account (blob fsync + commit) before it resolves: through its active
   * Sieve script (src/mail/sieve/deliver.ts), else into INBOX, or Junk when `junk`.
   */
  readonly deliverLocal: (accountId: number, message: Buffer, context: DeliveryContext) => Promise<DeliveryOutcome>;
  /** Checks on unauthenticated MX mail before the final reply (src/mail/inbound/checks.ts). */
  readonly inbound?: InboundChecks;
  /** Durable hand-over to the outbound queue; resolves with the queue id. */
  readonly enqueue: (input: {
    sender: string;
    recipients: readonly string[];
    message: Buffer;
    accountId?: number;
    smtputf8: boolean;
  }) => Promise<number>;
  /** Does this listener let unauthenticated clients relay (policy `requireAuthForRelay` inverted)? */
  readonly requireAuthForRelay: (listener: string) => boolean;
  readonly senderPolicy: SenderPolicy;
  readonly limits?: SendingLimits;
  /** An account's storage quota in octets (limit null: none), so a full mailbox is refused in SMTP terms. */
  readonly quota?: (accountId: number) => Promise<StorageQuota>;
  readonly logger: Logger;
}

/**
 * The reply for a mailbox that cannot take `size` more octets (RFC 3463 X.2.2 mailbox full): 552
 * 5.2.2 when the message is larger than the whole quota and could never fit, else 452 4.2.2, so
 * the sender retries once the owner made room (RFC 5321 §4.5.3.1.10).
 */
export function overQuotaReply(quota: StorageQuota, size: number): Reply | undefined {
  if (quota.limit === null || quota.used + size <= quota.limit) return undefined;
  return size > quota.limit
    ? reply(552, '5.2.2', 'Message larger than the mailbox quota')
    : reply(452, '4.2.2', 'Mailbox full, try again later');
}

/** A Sieve reject reason as one printable line of an SMTP reply (RFC 5429 §2.1: the reason goes to the sender). */
function refusalText(reason: string): string {
  const line = reason
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, 200);
  return line || "Message rejected by the recipient's filter";
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * Inbound (MX) and submission rules (RFC 5321 §3.6, RFC 6409 §4–5): local domains and aliases
 * are delivered to their account's INBOX; other domains only for authenticated senders (relay),
 * via the queue; on submission the sender must be one of the account's addresses.
 */
export class MailTransactions implements TransactionHandler {
  readonly #o: MailTransactionOptions;

  constructor(options: MailTransactionOptions) {
    this.#o = options;
  }

  async mailFrom(session: SessionView, sender: string): Promise<Reply | undefined> {
    const auth = session.auth;
    if (session.protocol === 'submission' && !auth && this.#o.requireAuthForRelay(session.listener)) {
      return reply(530, '5.7.0', 'Authentication required');
    }
    if (!auth) return undefined;
    if (this.#o.senderPolicy !== 'any') {
      if (!sender) return reply(553, '5.7.1', 'The null sender is not allowed for authenticated users');
      const owned = (await this.#o.directory.addressesOf(auth.account.id)).map((a) => a.toLowerCase());
      const lower = sender.toLowerCase();
      const ok = this.#o.senderPolicy === 'own' ? owned.includes(lower) : owned.some((a) => domainOf(a) === domainOf(lower));
      if (!ok) return reply(553, '5.7.1', `Sender address not owned by ${auth.account.address}`);
    }
    return (await this.#o.limits?.check(auth.account.id, 0)) ?? undefined;
  }

  async rcptTo(
    session: SessionView,
    envelope: MailEnvelope,
    address: string,
  ): Promise<{ recipient: Recipient } | { reply: Reply; unknown?: boolean }> {
    let target = address;
    if (address.toLowerCase() === 'postmaster') {
      // RFC 5321 §4.5.1: <postmaster> without a domain must be accepted; it means this host's.
      const domains = await this.#o.directory.listDomains();
      const first = domains[0];
      if (!first) return { reply: reply(550, '5.1.1', 'No such user here'), unknown: true };
      target = `postmaster@${first.name}`;
    }
    const parsed = tryParseAddress(target);
    if (!parsed) return { reply: reply(501, '5.1.3', 'Bad recipient address syntax') };
    if (session.auth && this.#o.limits) {
      const over = await this.#o.limits.check(session.auth.account.id, envelope.recipients.length + 1);
      if (over) return { reply: over };
    }
    const local = await this.#o.directory.findDomain(parsed.domain);
    if (local) {
      const account = await this.#o.directory.findRecipient(parsed.normalized);
      if (!account) return { reply: reply(550, '5.1.1', 'No such user here'), unknown: true };
      if (account.disabled) return { reply: reply(550, '5.2.1', 'Mailbox disabled, not accepting messages') };
      // A mailbox already at its quota takes nothing more: tell the sender now (RFC 5321 §4.5.3.1.10).
      const full = this.#o.quota && overQuotaReply(await this.#o.quota(account.id), 1);
      if (full) return { reply: full };
      return { recipient: { address: target, accountId: account.id } };
    }
    const relay = !!session.auth || !this.#o.requireAuthForRelay(session.listener);
    if (!relay) return { reply: reply(554, '5.7.1', 'Relay access denied') };
    return { recipient: { address: target } };
  }

  async deliver(session: SessionView, envelope: MailEnvelope, received: Buffer): Promise<Reply> {
    const remote = envelope.recipients.filter((r) => r.accountId === undefined).map((r) => r.address);
    const accounts = [...new Set(envelope.recipients.flatMap((r) => (r.accountId === undefined ? [] : [r.accountId])))];
    let message = received;
    // Every local mailbox must have room before any copy is made, so the one reply is true for all.
    if (this.#o.quota) {
      for (const accountId of accounts) {
        const over = overQuotaReply(await this.#o.quota(accountId), message.length);
        if (over) return over;
      }
    }
    let junk = false;
    let spam: DeliveryContext['spam'];
    // MX mail from the internet is checked before the final reply, so a refusal is still a reply
    // the sender sees (RFC 7489 §6.7, RFC 7208 §8.4) and nothing answered 250 is dropped later.
    if (this.#o.inbound && session.protocol === 'smtp' && !session.auth) {
      const outcome = await this.#o.inbound.run({
        message,
        sender: envelope.sender,
        recipients: envelope.recipients.map((r) => r.address),
        ip: session.remoteAddress,
        helo: session.helo,
        id: session.id,
      });
      const d = outcome.disposition;
      if (d.kind === 'reject' || d.kind === 'tempfail') return reply(d.code, d.enhanced, d.text);
      message = outcome.message;
      junk = d.kind === 'junk';
      if (outcome.spam) spam = { score: outcome.spam.score, required: outcome.spam.required };
    }
    // A Sieve reject can be the reply itself only when it speaks for every recipient (RFC 5429 §2.1).
    const canRefuse = envelope.recipients.length === 1 && accounts.length === 1;
    // Each copy is durable before the next starts; only then is 250 sent (RFC 5321 §6.1).
    try {
      for (const accountId of accounts) {
        const recipient = envelope.recipients.find((r) => r.accountId === accountId)?.address ?? '';
        const done = await this.#o.deliverLocal(accountId, message, { sender: envelope.sender, recipient, junk, spam, canRefuse });
        if (done.refused) return reply(550, '5.7.1', refusalText(done.reason));
      }
    } catch (err) {
      // Another write filled the mailbox since the check above.
      if (isFingerpostError(err, 'over_quota')) return reply(452, '4.2.2', 'Mailbox full, try again later');
      throw err;
    }
    let queueId: number | undefined;
    if (remote.length) {
      queueId = await this.#o.enqueue({
        sender: envelope.sender,
        recipients: remote,
        message,
        smtputf8: envelope.smtputf8,
        ...(session.auth ? { accountId: session.auth.account.id } : {}),
      });
    }
    if (session.auth && this.#o.limits) await this.#o.limits.record(session.auth.account.id, envelope.recipients.length);
    this.#o.logger.info(
      { session: session.id, listener: session.listener, local: accounts.length, remote: remote.length, size: message.length, queueId },
      'message accepted',
    );
    return reply(250, '2.0.0', `Ok: queued as ${session.id}${queueId === undefined ? '' : `-${queueId}`}`);
  }
}
