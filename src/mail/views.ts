import type { MailStore } from './store.ts';

/**
 * What IMAP (RFC 9051) sees of the mail store: mailboxes and subscriptions, UIDs and entries,
 * append/copy/move/expunge, keywords with CONDSTORE MODSEQs (RFC 7162), \Recent claims, search
 * text, METADATA (RFC 5464), QUOTA (RFC 9208), shared mailboxes (ACL, RFC 4314) and change
 * notifications for IDLE.
 */
export type ImapMailView = Pick<
  MailStore,
  | 'appendMany'
  | 'claimRecent'
  | 'copy'
  | 'createMailbox'
  | 'deleteMailbox'
  | 'expunge'
  | 'getMailbox'
  | 'getMailboxById'
  | 'getMessages'
  | 'headerTexts'
  | 'keywordNames'
  | 'listEntries'
  | 'listEntriesAfter'
  | 'listMailboxes'
  | 'listSubscriptions'
  | 'mailboxByRole'
  | 'mailboxChanges'
  | 'mailboxCounts'
  | 'messageIdAt'
  | 'messageMeta'
  | 'metadata'
  | 'move'
  | 'readRaw'
  | 'renameMailbox'
  | 'replace'
  | 'savedDates'
  | 'seenBy'
  | 'seenIn'
  | 'setSubscribed'
  | 'sharing'
  | 'storageQuota'
  | 'storeKeywords'
  | 'textMatches'
  | 'unclaimedRecent'
  | 'watch'
>;

/** What POP3 (RFC 1939) sees of the mail store: the INBOX as a maildrop, read and expunged. */
export type Pop3MailView = Pick<MailStore, 'expunge' | 'getMailbox' | 'getMessages' | 'listEntries' | 'mailboxByRole' | 'readRaw'>;

/**
 * What JMAP (RFC 8620, RFC 8621, RFC 9425) sees of the mail store: mailboxes, Emails and Threads
 * by id, their states and changes, queries, Identities, EmailSubmissions, VacationResponse, quota,
 * sharing (RFC 9670) and change notifications for push.
 */
export type JmapMailView = Pick<
  MailStore,
  | 'append'
  | 'appendMany'
  | 'changeLog'
  | 'changesSince'
  | 'createMailbox'
  | 'deleteMailbox'
  | 'destroyMessages'
  | 'emailQueries'
  | 'getMailbox'
  | 'getMailboxById'
  | 'getMessages'
  | 'identities'
  | 'index'
  | 'listMailboxes'
  | 'mailboxCounts'
  | 'mailboxIdsOf'
  | 'messagesByBlob'
  | 'onLocalChange'
  | 'pushSubscriptions'
  | 'readRaw'
  | 'listEntries'
  | 'renameMailbox'
  | 'setKeywords'
  | 'setMailboxes'
  | 'sharing'
  | 'storageQuota'
  | 'submissions'
  | 'threadMessages'
  | 'typeState'
  | 'updateMailbox'
  | 'uploads'
  | 'vacation'
  | 'watch'
>;
