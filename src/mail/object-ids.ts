/**
 * Object ids of stored mail, one spelling for every protocol: IMAP OBJECTID (RFC 8474 MAILBOXID,
 * EMAILID, THREADID) and JMAP ids (RFC 8620 §1.2) name a mailbox `M<row>`, an email `E<row>`, a
 * thread `T<row>`, so a client using both sees the same object under the same id.
 */

/** The object id of mailbox row `n`. */
export const mailboxObjectId = (n: number): string => `M${n}`;

/** The object id of message row `n`. */
export const emailObjectId = (n: number): string => `E${n}`;

/** The object id of thread `n`. */
export const threadObjectId = (n: number): string => `T${n}`;
