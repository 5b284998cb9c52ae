import type { Literal } from '../../../net/line-input.ts';

/** A complete command as net/line-input.ts frames it: `lines[i]` is followed by `literals[i]`. */
export interface Frame {
  readonly lines: readonly Buffer[];
  readonly literals: readonly Literal[];
}

import type { SequenceSet } from './sequence.ts';

/**
 * Typed IMAP commands (RFC 9051 §6 and the extensions this server implements: RFC 7162
 * CONDSTORE/QRESYNC, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154, RFC 4731 ESEARCH,
 * RFC 3516 BINARY, RFC 6851 MOVE, RFC 4315 UIDPLUS, RFC 2177 IDLE, RFC 2971 ID, RFC 5161 ENABLE).
 * Mailbox names are as sent (UTF-8 or modified UTF-7); the session decodes them.
 */

/** A BODY[section] spec (RFC 9051 §6.4.5). */
export interface Section {
  /** Part numbers, `[]` for the whole message. */
  readonly part: readonly number[];
  readonly text: null | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  /** Field names for HEADER.FIELDS(.NOT), as the client spelled them. */
  readonly fields: readonly string[];
}

export interface Partial {
  readonly start: number;
  readonly length: number;
}

export type FetchItem =
  | {
      readonly kind:
        | 'FLAGS'
        | 'UID'
        | 'INTERNALDATE'
        | 'RFC822.SIZE'
        | 'ENVELOPE'
        | 'BODYSTRUCTURE'
        | 'BODY'
        | 'MODSEQ'
        | 'RFC822'
        | 'RFC822.HEADER'
        | 'RFC822.TEXT'
        | 'EMAILID'
        | 'THREADID'
        | 'SAVEDATE';
    }
  /** PREVIEW (RFC 8970), with `(LAZY)` when the client accepts NIL for a preview not at hand. */
  | { readonly kind: 'PREVIEW'; readonly lazy: boolean }
  | { readonly kind: 'BODY[]'; readonly peek: boolean; readonly section: Section; readonly partial: Partial | null }
  | { readonly kind: 'BINARY[]'; readonly peek: boolean; readonly part: readonly number[]; readonly partial: Partial | null }
  | { readonly kind: 'BINARY.SIZE'; readonly part: readonly number[] };

export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED'
  | 'SIZE'
  | 'RECENT'
  | 'HIGHESTMODSEQ'
  | 'APPENDLIMIT'
  | 'MAILBOXID'
  | 'DELETED-STORAGE';

export type DateCmp = 'before' | 'on' | 'since';

/** SEARCH keys (RFC 9051 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 5032 OLDER/YOUNGER). */
export type SearchKey =
  | { readonly op: 'all' }
  | { readonly op: 'and'; readonly keys: readonly SearchKey[] }
  | { readonly op: 'or'; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly op: 'not'; readonly key: SearchKey }
  /** A flag or keyword is (`set`) or is not present. */
  | { readonly op: 'flag'; readonly flag: string; readonly set: boolean }
  /** \Recent in this session (IMAP4rev1, RFC 3501 §6.4.4): NEW is RECENT UNSEEN, OLD is NOT RECENT. */
  | { readonly op: 'recent' }
  | { readonly op: 'seq'; readonly set: SequenceSet }
  | { readonly op: 'uid'; readonly set: SequenceSet }
  /** SUBJECT and HEADER: case-insensitive substring of the decoded field; '' means present. */
  | { readonly op: 'header'; readonly field: string; readonly value: string }
  /** FROM/TO/CC/BCC: a substring of a parsed address, as ENVELOPE shows it. */
  | { readonly op: 'address'; readonly field: 'from' | 'to' | 'cc' | 'bcc'; readonly value: string }
  | { readonly op: 'body'; readonly value: string }
  | { readonly op: 'text'; readonly value: string }
  /** Dates as `YYYY-MM-DD` day numbers (days since epoch). */
  | { readonly op: 'internaldate' | 'sentdate'; readonly cmp: DateCmp; readonly day: number }
  /** SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514 §4): the day the message was saved into this mailbox. */
  | { readonly op: 'savedate'; readonly cmp: DateCmp; readonly day: number }
  | { readonly op: 'larger' | 'smaller'; readonly size: number }
  | { readonly op: 'modseq'; readonly modseq: number }
  | { readonly op: 'older' | 'younger'; readonly seconds: number }
  | { readonly op: 'emailid' | 'threadid'; readonly id: string };

/** RETURN options (RFC 4731, RFC 5182 SAVE, RFC 9394 PARTIAL, RFC 5267 §4 UPDATE and CONTEXT). */
export type SearchReturn = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE' | 'PARTIAL' | 'UPDATE' | 'CONTEXT';

/**
 * A PARTIAL range (RFC 9394 §3.1): positions `from`..`to` (1-based, `from` <= `to`) counted from
 * the first result, or from the last one when `fromEnd` (`-1:-100`).
 */
export interface PartialRange {
  readonly from: number;
  readonly to: number;
  readonly fromEnd: boolean;
}

/** SORT keys (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO). */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';

export interface SortCriterion {
  readonly key: SortKey;
  readonly reverse: boolean;
}

/** THREAD algorithms (RFC 5256 §3). */
export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';

export interface ListSelection {
  readonly subscribed: boolean;
  readonly remote: boolean;
  readonly recursiveMatch: boolean;
  readonly specialUse: boolean;
}

export interface ListReturn {
  readonly subscribed: boolean;
  readonly children: boolean;
  readonly specialUse: boolean;
  readonly status: readonly StatusItem[] | null;
}

export interface QresyncParams {
  readonly uidValidity: number;
  readonly modseq: number;
  readonly knownUids: SequenceSet | null;
  readonly seqMatch: { readonly seqs: SequenceSet; readonly uids: SequenceSet } | null;
}

/** A NOTIFY mailbox filter (RFC 5465 §6); mailbox names as sent. */
export type NotifyFilter =
  | { readonly kind: 'SELECTED' | 'SELECTED-DELAYED' | 'INBOXES' | 'PERSONAL' | 'SUBSCRIBED' }
  | { readonly kind: 'SUBTREE' | 'MAILBOXES'; readonly mailboxes: readonly string[] };

/** One NOTIFY event group (RFC 5465 §3): a filter, its events as sent, and MessageNew's fetch attributes. */
export interface NotifyGroup {
  readonly filter: NotifyFilter;
  readonly events: readonly string[];
  readonly fetch: readonly FetchItem[] | null;
}

/** One part of a CATENATE (RFC 4469 §5): literal text, or an IMAP URL to a message or part. */
export type CatPart = { readonly kind: 'TEXT'; readonly data: Buffer } | { readonly kind: 'URL'; readonly url: string };

/** One message of an APPEND (RFC 9051 §6.3.12, RFC 3502 append-message). */
export interface AppendMessage {
  readonly flags: readonly string[];
  /** INTERNALDATE as epoch ms, or null for now. */
  readonly date: number | null;
  /** The message; empty when it is made by `catenate`. */
  readonly message: Buffer;
  readonly binary: boolean;
  /** CATENATE (RFC 4469): the parts the message is made of, in order; null for a literal message. */
  readonly catenate: readonly CatPart[] | null;
}

type Simple = 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' | 'EXPUNGE';

export type CommandBody =
  | { readonly name: Simple }
  | { readonly name: 'UID EXPUNGE'; readonly set: SequenceSet }
  /** NOTIFY SET [STATUS] groups, or NOTIFY NONE as null (RFC 5465 §3). */
  | { readonly name: 'NOTIFY'; readonly set: { readonly status: boolean; readonly groups: readonly NotifyGroup[] } | null }
  /** CANCELUPDATE (RFC 5267 §4.3.5): the tags of the live results to stop. */
  | { readonly name: 'CANCELUPDATE'; readonly tags: readonly string[] }
  /** GETMETADATA (RFC 5464 §4.2): `mailbox` '' is the server; entry names as sent. */
  | {
      readonly name: 'GETMETADATA';
      readonly mailbox: string;
      readonly entries: readonly string[];
      readonly maxSize: number | null;
      readonly depth: 0 | 1 | 'infinity';
    }
  /** SETMETADATA (RFC 5464 §4.3): a null value removes the entry. */
  | { readonly name: 'SETMETADATA'; readonly mailbox: string; readonly entries: ReadonlyArray<{ name: string; value: Buffer | null }> }
  /** COMPRESS (RFC 4978 §3): the mechanism, upper-case. */
  | { readonly name: 'COMPRESS'; readonly mechanism: string }
  | { readonly name: 'AUTHENTICATE'; readonly mechanism: string; readonly initial: string | null }
  | { readonly name: 'LOGIN'; readonly username: string; readonly password: string }
  | { readonly name: 'ENABLE'; readonly capabilities: readonly string[] }
  | { readonly name: 'ID'; readonly params: ReadonlyArray<readonly [string, string | null]> | null }
  | {
      readonly name: 'SELECT' | 'EXAMINE';
      readonly mailbox: string;
      readonly condstore: boolean;
      readonly qresync: QresyncParams | null;
    }
  | { readonly name: 'CREATE'; readonly mailbox: string; readonly specialUse: readonly string[] }
  | { readonly name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'; readonly mailbox: string }
  | { readonly name: 'RENAME'; readonly from: string; readonly to: string }
  | {
      readonly name: 'LIST';
      readonly reference: string;
      readonly patterns: readonly string[];
      readonly selection: ListSelection;
      readonly returns: ListReturn;
      /** True when the client used LIST-EXTENDED syntax (selection options, several patterns, RETURN). */
      readonly extended: boolean;
    }
  | { readonly name: 'LSUB'; readonly reference: string; readonly pattern: string }
  | { readonly name: 'STATUS'; readonly mailbox: string; readonly items: readonly StatusItem[] }
  | { readonly name: 'GETQUOTA'; readonly root: string }
  | { readonly name: 'GETQUOTAROOT'; readonly mailbox: string }
  /** SETACL (RFC 4314 §3.1): `rights` as sent, with its leading `+` or `-` if any. */
  | { readonly name: 'SETACL'; readonly mailbox: string; readonly identifier: string; readonly rights: string }
  /** DELETEACL and LISTRIGHTS (RFC 4314 §3.2, §3.4). */
  | { readonly name: 'DELETEACL' | 'LISTRIGHTS'; readonly mailbox: string; readonly identifier: string }
  /** GETACL and MYRIGHTS (RFC 4314 §3.3, §3.5). */
  | { readonly name: 'GETACL' | 'MYRIGHTS'; readonly mailbox: string }
  | { readonly name: 'SETQUOTA'; readonly root: string; readonly limits: ReadonlyArray<readonly [string, number]> }
  | {
      readonly name: 'APPEND';
      readonly mailbox: string;
      /** One message, or several with MULTIAPPEND (RFC 3502), appended together or not at all. */
      readonly messages: readonly AppendMessage[];
    }
  | {
      readonly name: 'SEARCH';
      readonly uid: boolean;
      /** null: no RETURN clause (plain SEARCH); [] means RETURN () which is ALL. */
      readonly returns: readonly SearchReturn[] | null;
      /** RETURN (PARTIAL range), RFC 9394. */
      readonly partial: PartialRange | null;
      readonly charset: string | null;
      readonly criteria: SearchKey;
    }
  | {
      readonly name: 'FETCH';
      readonly uid: boolean;
      readonly set: SequenceSet;
      readonly items: readonly FetchItem[];
      readonly changedSince: number | null;
      readonly vanished: boolean;
      /** The PARTIAL fetch modifier (RFC 9394 §3.2): only these positions of the set. */
      readonly partial: PartialRange | null;
    }
  | {
      readonly name: 'STORE';
      readonly uid: boolean;
      readonly set: SequenceSet;
      readonly unchangedSince: number | null;
      readonly mode: 'set' | 'add' | 'remove';
      readonly silent: boolean;
      readonly flags: readonly string[];
    }
  /** REPLACE and UID REPLACE (RFC 8508 §3): `id` is a sequence number or a UID. */
  | { readonly name: 'REPLACE'; readonly uid: boolean; readonly id: number; readonly mailbox: string; readonly message: AppendMessage }
  | { readonly name: 'COPY' | 'MOVE'; readonly uid: boolean; readonly set: SequenceSet; readonly mailbox: string }
  | {
      readonly name: 'SORT';
      readonly uid: boolean;
      /** ESORT (RFC 5267): null for a plain SORT answer. */
      readonly returns: readonly SearchReturn[] | null;
      readonly partial: PartialRange | null;
      readonly criteria: readonly SortCriterion[];
      readonly charset: string;
      readonly search: SearchKey;
    }
  | {
      readonly name: 'THREAD';
      readonly uid: boolean;
      readonly algorithm: ThreadAlgorithm;
      readonly charset: string;
      readonly search: SearchKey;
    };

export type Command = CommandBody & { readonly tag: string };

export type CommandName = Command['name'];
