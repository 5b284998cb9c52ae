import type { ParsedMessage } from './mime/types.ts';

/**
 * The mail store's shapes, shared by IMAP, POP3, JMAP and SMTP delivery (docs/architecture.md). Keywords are JMAP keywords (RFC 8621 §4.1.1), lower-case: the IMAP system
 * flags are `$seen`, `$answered`, `$flagged`, `$draft` and `$deleted`.
 */

export interface Mailbox {
  readonly id: number;
  readonly accountId: number;
  /** Full name with `/` as the hierarchy delimiter; `INBOX` is always upper case. */
  readonly name: string;
  /** RFC 6154 special use as a JMAP role (inbox, drafts, sent, trash, junk, archive) or null. */
  readonly role: string | null;
  readonly uidValidity: number;
  readonly uidNext: number;
  /** Highest MODSEQ of anything in the mailbox (RFC 7162 §3.1.1). */
  readonly highestModseq: number;
  /** IMAP4rev1 \Recent: messages from this UID on are new, not yet claimed by a session (RFC 3501 §2.3.2). */
  readonly firstRecentUid: number;
  readonly subscribed: boolean;
  readonly sortOrder: number;
  readonly createdAt: number;
}

/** A message as a member of one mailbox: what IMAP sequence numbers and FETCH FLAGS need. */
export interface MailboxEntry {
  readonly uid: number;
  readonly messageId: number;
  /** MODSEQ of the last change to this message in this mailbox (RFC 7162). */
  readonly modseq: number;
  readonly keywords: readonly string[];
  readonly size: number;
  readonly receivedAt: number;
}

/** A stored message (JMAP Email) with its parsed structure. */
export interface StoredMessage {
  readonly id: number;
  readonly accountId: number;
  readonly blobId: string;
  readonly size: number;
  readonly receivedAt: number;
  readonly threadId: number;
  readonly keywords: readonly string[];
  readonly modseq: number;
  readonly meta: ParsedMessage;
}

/** What changed since a MODSEQ in one mailbox (IMAP NOOP/IDLE updates, CONDSTORE, QRESYNC). */
export interface MailboxChanges {
  readonly highestModseq: number;
  /** Entries created or changed after the given MODSEQ, in UID order. */
  readonly changed: readonly MailboxEntry[];
  /** UIDs expunged after the given MODSEQ, ascending. */
  readonly expunged: readonly number[];
}

/** A change notification, emitted after commit to everyone watching the account. */
export interface MailChange {
  readonly accountId: number;
  readonly modseq: number;
  /** Mailboxes whose contents or counts changed. */
  readonly mailboxIds: readonly number[];
  /** JMAP types whose state changed: Email, Mailbox, Thread. */
  readonly types: readonly string[];
}

/** JMAP `/changes` answer for one type (RFC 8620 §5.2). */
export interface ObjectChanges {
  readonly oldState: number;
  readonly newState: number;
  readonly created: readonly number[];
  readonly updated: readonly number[];
  readonly destroyed: readonly number[];
  readonly hasMoreChanges: boolean;
}

/** A message's parsed structure and its decoded header and body text for SEARCH and JMAP search (RFC 9051 §6.4.4). */
export interface AnalyzedMessage {
  readonly parsed: ParsedMessage;
  readonly text: { readonly headers: string; readonly body: string };
}

/** Turns the raw bytes of a message into its parsed structure and searchable text, at delivery. */
export interface MessageParser {
  /** May run off the event loop (src/mail/mime/analyzer.ts): a large message must not stall the server. */
  analyze(raw: Buffer): Promise<AnalyzedMessage>;
}

export const SYSTEM_KEYWORDS = ['$seen', '$answered', '$flagged', '$draft', '$deleted'] as const;
