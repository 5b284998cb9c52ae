import type { AuthResult } from '../../auth/types.ts';
import type { Reply } from './reply.ts';

/** What a transaction policy may know about the session a command arrived on. */
export interface SessionView {
  /** Trace id, used as the `id` of the Received header and in logs. */
  readonly id: string;
  /** Listener name: `smtp`, `submission`, `submissions`. */
  readonly listener: string;
  readonly protocol: 'smtp' | 'submission';
  readonly remoteAddress: string;
  readonly helo: string;
  readonly tls: boolean;
  readonly auth: AuthResult | undefined;
}

/** A recipient accepted by RCPT: local ones carry the account that receives the message. */
export interface Recipient {
  readonly address: string;
  readonly accountId?: number;
}

export interface MailEnvelope {
  /** '' for the null reverse-path. */
  readonly sender: string;
  readonly recipients: readonly Recipient[];
  readonly smtputf8: boolean;
}

/**
 * The decisions an SMTP session delegates (RFC 5321 §3.3): who may send, who may receive, and
 * durable delivery before `250` (RFC 5321 §6.1). Inbound (MX) and submission differ only here.
 */
export interface TransactionHandler {
  /** MAIL FROM: `undefined` accepts the sender, a reply refuses it. */
  mailFrom(session: SessionView, sender: string, declaredSize: number | undefined): Promise<Reply | undefined>;
  /**
   * RCPT TO: the accepted recipient, or the refusal (550 5.1.1, 554 5.7.1, 452 4.5.3…);
   * `unknown` marks a local address that does not exist (what an address harvester probes for).
   */
  rcptTo(
    session: SessionView,
    envelope: MailEnvelope,
    address: string,
  ): Promise<{ recipient: Recipient } | { reply: Reply; unknown?: boolean }>;
  /** Stores or queues the message; resolves with `250` only once it is durable. */
  deliver(session: SessionView, envelope: MailEnvelope, message: Buffer): Promise<Reply>;
}
