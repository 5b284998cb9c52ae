/**
 * The parsed structure of one stored message (RFC 5322 + MIME RFC 2045/2046), computed once at
 * delivery and kept as JSON in `messages.meta`. Byte offsets point into the raw message so IMAP
 * `BODY[section]`/`BINARY[section]` and JMAP blob parts are served without re-parsing.
 */

/** An address as IMAP ENVELOPE carries it (RFC 9051 §7.5.2); group syntax uses `host: null` markers. */
export interface EnvelopeAddress {
  /** Display name as it appears in the header (encoded-words left encoded), or null. */
  readonly name: string | null;
  /** Source route (obsolete); always null in practice. */
  readonly adl: string | null;
  /** Local part; for a group start marker the group name; null for a group end marker. */
  readonly mailbox: string | null;
  /** Domain; null for group markers. */
  readonly host: string | null;
}

/** IMAP ENVELOPE fields (RFC 9051 §7.5.2): raw header values, unfolded, not decoded. */
export interface Envelope {
  readonly date: string | null;
  readonly subject: string | null;
  readonly from: readonly EnvelopeAddress[];
  /** Defaults to `from` when the header is absent (RFC 9051 §7.5.2). */
  readonly sender: readonly EnvelopeAddress[];
  /** Defaults to `from` when the header is absent. */
  readonly replyTo: readonly EnvelopeAddress[];
  readonly to: readonly EnvelopeAddress[];
  readonly cc: readonly EnvelopeAddress[];
  readonly bcc: readonly EnvelopeAddress[];
  readonly inReplyTo: string | null;
  readonly messageId: string | null;
}

/** One MIME entity. Offsets are absolute byte positions in the raw message. */
export interface MimePart {
  /** IMAP part specifier: '' for the top level, '1', '1.2', … (RFC 9051 §6.4.5). */
  readonly path: string;
  /** Where this entity's header starts / its body starts (after the blank line) / its body ends. */
  readonly headerStart: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** Lower-case media type and subtype; `text/plain` when absent (RFC 2045 §5.2). */
  readonly type: string;
  readonly subtype: string;
  /** Content-Type parameters, lower-case names, values decoded from RFC 2231 continuations. */
  readonly params: Readonly<Record<string, string>>;
  readonly id: string | null;
  readonly description: string | null;
  /** Content-Transfer-Encoding, upper-case; `7BIT` when absent. */
  readonly encoding: string;
  readonly md5: string | null;
  readonly disposition: { readonly type: string; readonly params: Readonly<Record<string, string>> } | null;
  readonly language: readonly string[] | null;
  readonly location: string | null;
  /** Number of lines in the body (text/* and message/rfc822 need it for BODYSTRUCTURE). */
  readonly lines: number;
  /** Sub-parts of a multipart/*. */
  readonly children: readonly MimePart[];
  /** The encapsulated message of a message/rfc822 (or message/global) part. */
  readonly message: { readonly envelope: Envelope; readonly root: MimePart } | null;
}

/** Everything derived from a raw message at delivery. */
export interface ParsedMessage {
  readonly root: MimePart;
  readonly envelope: Envelope;
  /** Decoded (RFC 2047) subject, '' when absent. */
  readonly subject: string;
  /** `Date:` as epoch ms, null when absent or unparseable. */
  readonly sentAt: number | null;
  /** Message-ID without angle brackets, or null. */
  readonly messageId: string | null;
  readonly inReplyTo: readonly string[];
  readonly references: readonly string[];
  /** Decoded from/to addresses as `Name <addr>` lists, for search and JMAP. */
  readonly from: readonly { readonly name: string; readonly email: string }[];
  readonly to: readonly { readonly name: string; readonly email: string }[];
  readonly cc: readonly { readonly name: string; readonly email: string }[];
  /** Up to 256 characters of the first text part, whitespace collapsed (JMAP `preview`). */
  readonly preview: string;
  /** True when a part has Content-Disposition attachment or is a non-text leaf. */
  readonly hasAttachment: boolean;
}
