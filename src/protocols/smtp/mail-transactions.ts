import { isFingerpostError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import type { InboundBaseline } from './baseline.ts';
import type { InboundChecks } from '../../mail/inbound/checks.ts';
import type { DmarcReports } from '../../mail/inbound/dmarc-reports.ts';
import type { LimitReached } from '../../mail/submission/sending-limits.ts';
import type { MailSubmission, Room } from '../../mail/submission/submission.ts';
import type { DeliveryContext, DeliveryOutcome } from '../../mail/sieve/deliver.ts';
import { type Reply, reply } from './reply.ts';
import type { MailEnvelope, Recipient, SessionView, TransactionHandler } from './transaction.ts';

export interface MailTransactionOptions {
  readonly directory: Pick<Directory, 'listDomains'>;
  /** The mail submission use case: sender policy, sending limits, recipients, quota, hand-over. */
  readonly submission: MailSubmission;
  /**
   * Durable delivery into an account (blob fsync + commit) before it resolves: through its active
   * Sieve script (src/mail/sieve/deliver.ts), else into INBOX, or Junk when `junk`.
   */
  readonly deliverLocal: (accountId: number, message: Buffer, context: DeliveryContext) => Promise<DeliveryOutcome>;
  /** Checks on unauthenticated MX mail before the final reply (src/mail/inbound/checks.ts). */
  readonly inbound?: InboundChecks;
  /** DNS blocklists at MAIL FROM and greylisting at RCPT TO for unauthenticated MX clients. */
  readonly baseline?: InboundBaseline;
  /** DMARC aggregate reports (RFC 7489 §7.2) read from messages to these local addresses, after delivery. */
  readonly dmarcReports?: { readonly addresses: readonly string[]; readonly store: Pick<DmarcReports, 'collect'> };
  /** Does this listener let unauthenticated clients relay (policy `requireAuthForRelay` inverted)? */
  readonly requireAuthForRelay: (listener: string) => boolean;
  readonly logger: Logger;
}

/**
 * The reply for a mailbox without room (RFC 3463 X.2.2 mailbox full): 552 5.2.2 when the message
 * is larger than the whole quota and could never fit, else 452 4.2.2, so the sender retries once
 * the owner made room (RFC 5321 §4.5.3.1.10).
 */
function roomReply(room: Room): Reply | undefined {
  if (room === 'fits') return undefined;
  return room === 'never'
    ? reply(552, '5.2.2', 'Message larger than the mailbox quota')
    : reply(452, '4.2.2', 'Mailbox full, try again later');
}

/** Over a sending limit: `450 4.7.1`, try later (RFC 3463 X.7.1 delivery not authorized). */
function limitReply(limit: LimitReached | undefined): Reply | undefined {
  if (!limit) return undefined;
  return reply(450, '4.7.1', `Sending limit reached (${limit} per hour), try again later`);
}

/** A Sieve reject reason as one printable line of an SMTP reply (RFC 5429 §2.1: the reason goes to the sender). */
function refusalText(reason: string): string {
  const line = reason
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, 200);
  return line || "Message rejected by the recipient's filter";
}

/**
 * Inbound (MX) and submission rules (RFC 5321 §3.6, RFC 6409 §4–5) in SMTP terms, over the mail
 * submission use case (src/mail/submission/submission.ts): local domains and aliases are
 * delivered to their account's INBOX; other domains only for authenticated senders (relay), via
 * the queue; on submission the sender must be one the account may use.
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
    if (!auth) {
      if (session.protocol !== 'smtp' || !this.#o.baseline) return undefined;
      const refused = await this.#o.baseline.atMail(session.remoteAddress, session.id);
      return refused && reply(refused.code, refused.enhanced, refused.text);
    }
    const { submission } = this.#o;
    if (!(await submission.maySendAs(auth.account.id, sender))) {
      if (!sender) return reply(553, '5.7.1', 'The null sender is not allowed for authenticated users');
      return reply(553, '5.7.1', `Sender address not owned by ${auth.account.address}`);
    }
    return limitReply(await submission.limitReached(auth.account.id, 0));
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
    const { submission } = this.#o;
    let verdict: Awaited<ReturnType<typeof submission.recipient>>;
    try {
      verdict = await submission.recipient(target);
    } catch (err) {
      // The account source (LDAP) cannot answer: the sender retries later (RFC 3463 §3.5 X.4.3).
      if (isFingerpostError(err, 'unavailable')) return { reply: reply(451, '4.4.3', 'Directory server unavailable, try again later') };
      throw err;
    }
    if (verdict.kind === 'invalid') return { reply: reply(501, '5.1.3', 'Bad recipient address syntax') };
    if (session.auth) {
      const over = limitReply(await submission.limitReached(session.auth.account.id, envelope.recipients.length + 1));
      if (over) return { reply: over };
    }
    if (verdict.kind === 'unknown') return { reply: reply(550, '5.1.1', 'No such user here'), unknown: true };
    if (verdict.kind === 'disabled') return { reply: reply(550, '5.2.1', 'Mailbox disabled, not accepting messages') };
    if (verdict.kind === 'local') {
      // A mailbox already at its quota takes nothing more: tell the sender now (RFC 5321 §4.5.3.1.10).
      const full = roomReply(await submission.room(verdict.accountId, 1));
      if (full) return { reply: full };
      if (!session.auth && session.protocol === 'smtp' && this.#o.baseline) {
        const refused = await this.#o.baseline.atRcpt(session.remoteAddress, envelope.sender, target, session.id);
        if (refused) return { reply: reply(refused.code, refused.enhanced, refused.text) };
      }
      return { recipient: { address: target, accountId: verdict.accountId } };
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
    for (const accountId of accounts) {
      const over = roomReply(await this.#o.submission.room(accountId, message.length));
      if (over) return over;
    }
    let junk = false;
    let spam: DeliveryContext['spam'];
    let auth: DeliveryContext['auth'];
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
      auth = outcome.auth;
      if (outcome.spam) spam = { score: outcome.spam.score, required: outcome.spam.required };
    }
    // A Sieve reject can be the reply itself only when it speaks for every recipient (RFC 5429 §2.1).
    const canRefuse = envelope.recipients.length === 1 && accounts.length === 1;
    // Each copy is durable before the next starts; only then is 250 sent (RFC 5321 §6.1).
    const done = await this.#o.submission.handOver({
      sender: envelope.sender,
      accounts,
      remote,
      message,
      recipientCount: envelope.recipients.length,
      smtputf8: envelope.smtputf8,
      ...(session.auth ? { accountId: session.auth.account.id } : {}),
      deliverLocal: (accountId, copy) => {
        const recipient = envelope.recipients.find((r) => r.accountId === accountId)?.address ?? '';
        return this.#o.deliverLocal(accountId, copy, { sender: envelope.sender, recipient, junk, spam, canRefuse, auth });
      },
    });
    // Another write filled the mailbox since the check above.
    if ('full' in done) return reply(452, '4.2.2', 'Mailbox full, try again later');
    if ('refused' in done) return reply(550, '5.7.1', refusalText(done.refused));
    const queueId = done.queueId;
    await this.#collectReports(session, envelope, message);
    this.#o.logger.info(
      { session: session.id, listener: session.listener, local: accounts.length, remote: remote.length, size: message.length, queueId },
      'message accepted',
    );
    return reply(250, '2.0.0', `Ok: queued as ${session.id}${queueId === undefined ? '' : `-${queueId}`}`);
  }

  /** The message is delivered (and stays in the mailbox); reports in it are read now, errors only logged. */
  async #collectReports(session: SessionView, envelope: MailEnvelope, message: Buffer): Promise<void> {
    const reports = this.#o.dmarcReports;
    if (!reports?.addresses.length) return;
    const wanted = new Set(reports.addresses.map((a) => a.toLowerCase()));
    if (!envelope.recipients.some((r) => wanted.has(r.address.toLowerCase()))) return;
    try {
      const outcome = await reports.store.collect(message);
      this.#o.logger.info({ session: session.id, ...outcome }, 'DMARC aggregate report');
    } catch (err) {
      this.#o.logger.warn({ session: session.id, err: (err as Error).message }, 'DMARC aggregate report not stored');
    }
  }
}
