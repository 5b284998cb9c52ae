import type { Generated } from 'kysely';

/** Table types shared by the SQLite and PostgreSQL dialects. Times are epoch milliseconds; booleans 0/1. */
export interface DomainTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  /** JSON object of per-domain settings (discovery auth, free/busy defaults, …). */
  settings: string;
}

export interface AccountTable {
  id: Generated<number>;
  domain_id: number;
  local_part: string;
  /** Lower-cased `local@domain`, the lookup key. */
  address: string;
  display_name: string;
  password_hash: string | null;
  disabled: number;
  is_admin: number;
  created_at: number;
  /** Bumped when the password changes or the account is disabled: older sessions end. */
  credentials_changed_at: number;
  /** The account's change counter: JMAP state and IMAP MODSEQ both come from it. */
  modseq: Generated<number>;
}

export interface AliasTable {
  id: Generated<number>;
  address: string;
  account_id: number;
  created_at: number;
}

export interface AppPasswordTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  /** SHA-256 of the (high-entropy, random) secret. */
  secret_hash: string;
  /** Comma-separated protocols it may be used for (imap,pop3,smtp,http). */
  protocols: string;
  created_at: number;
  last_used_at: number | null;
  /** Client address and protocol of the latest use (migration 090). */
  last_used_address: string | null;
  last_used_protocol: string | null;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface MailboxTable {
  id: Generated<number>;
  account_id: number;
  /** Full hierarchical name with `/` as the delimiter, e.g. `Archive/2026`. */
  name: string;
  /** Special use (RFC 6154) as a JMAP role: inbox, drafts, sent, trash, junk, archive; or null. */
  role: string | null;
  uidvalidity: number;
  uidnext: number;
  highest_modseq: number;
  /** IMAP4rev1 \Recent: UIDs from here on are new and not yet claimed by a session (RFC 3501 §2.3.2). */
  first_recent_uid: Generated<number>;
  sort_order: number;
  created_at: number;
  /** Modseq of the last change to the mailbox object itself (name, role, subscription). */
  modseq: number;
}

export interface MessageTable {
  id: Generated<number>;
  account_id: number;
  /** SHA-256 (hex) of the raw message in the blob store. */
  blob_id: string;
  size: number;
  /** IMAP INTERNALDATE / JMAP receivedAt. */
  received_at: number;
  thread_id: number;
  message_id_header: string | null;
  subject: string;
  sent_at: number | null;
  from_addr: string;
  to_addr: string;
  /** Space-separated keywords (JMAP) which are IMAP flags: `\\Seen`, `$label`. */
  keywords: string;
  /** JSON of the parsed structure: envelope, MIME tree with byte offsets, preview. */
  meta: string;
  modseq: number;
  created_at: number;
}

export interface MailboxMessageTable {
  mailbox_id: number;
  uid: number;
  message_id: number;
  modseq: number;
  /** When the message was saved into this mailbox (IMAP SAVEDATE, RFC 8514); null if unknown. */
  saved_at: number | null;
}

export interface ExpungedTable {
  mailbox_id: number;
  uid: number;
  modseq: number;
}

export interface ChangeTable {
  id: Generated<number>;
  account_id: number;
  modseq: number;
  /** JMAP type name: Email, Mailbox, Thread, EmailSubmission… */
  type: string;
  object_id: number;
  /** created | updated | destroyed */
  kind: string;
}

/** Cross-process events: nodes and the admin CLI publish; every node polls (revocations, new mail). */
export interface EventTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  created_at: number;
}

/** Decoded text of a message for SEARCH / Email/query text filters. */
export interface MessageTextTable {
  message_id: number;
  account_id: number;
  headers: string;
  body: string;
}

/** A calendar shared with another account of the owner's domain (`access`: `read` or `read-write`). */
export interface CalendarShareTable {
  calendar_id: number;
  sharee_id: number;
  access: string;
  /** pending, accepted or declined (the sharee's answer to the invite). */
  status: Generated<string>;
  summary: Generated<string>;
  created_at: number;
}

/** An address book an owner shares with another account of its domain. */
export interface AddressbookShareTable {
  addressbook_id: number;
  sharee_id: number;
  access: string;
  status: Generated<string>;
  summary: Generated<string>;
  created_at: number;
}

/** A calendar of an account; `source_url` set means it mirrors an external ICS feed. */
export interface CalendarTable {
  id: Generated<number>;
  account_id: number;
  /** URL segment, unique per account. */
  name: string;
  display_name: string;
  /** IANA zone for floating times and all-day events. */
  timezone: string;
  include_in_freebusy: number;
  source_url: string | null;
  refresh_interval: number | null;
  next_refresh_at: number | null;
  last_refresh_at: number | null;
  last_error: string | null;
  source_etag: string | null;
  /** Bumped on every change to the calendar or its objects (the CalDAV CTag and sync token). */
  modseq: number;
  created_at: number;
  updated_at: number;
  /** CSS color a client chose (Apple `calendar-color`), or null. */
  color: string | null;
  /** CALDAV:calendar-description, or null. */
  description: string | null;
  /** Comma-separated component names the calendar accepts (RFC 4791 §5.2.3). */
  components: Generated<string>;
  /** `calendar`, or `inbox`: the scheduling inbox (RFC 6638 §2.2). */
  kind: Generated<string>;
}

/** A calendar object removed at `modseq`, so sync-collection (RFC 6578) can report it. */
export interface CalendarTombstoneTable {
  id: Generated<number>;
  calendar_id: number;
  name: string;
  modseq: number;
  deleted_at: number;
}

/** A CardDAV address book of an account (RFC 6352 §5.2). */
export interface AddressbookTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  display_name: string;
  description: string | null;
  /** Bumped on every change to the book or its cards (CTag and sync token). */
  modseq: number;
  created_at: number;
  updated_at: number;
}

/** One address object resource: a vCard stored byte for byte (RFC 6352 §5.1). */
export interface AddressObjectTable {
  id: Generated<number>;
  addressbook_id: number;
  account_id: number;
  name: string;
  uid: string;
  etag: string;
  vcard: string;
  size: number;
  /** Lower-cased EMAIL values, one per line. */
  emails: string;
  modseq: number;
  created_at: number;
  updated_at: number;
}

/** An address object removed at `modseq`. */
export interface AddressTombstoneTable {
  id: Generated<number>;
  addressbook_id: number;
  name: string;
  modseq: number;
  deleted_at: number;
}

/** One calendar object resource: every component sharing one UID, stored as iCalendar text. */
export interface CalendarObjectTable {
  id: Generated<number>;
  calendar_id: number;
  account_id: number;
  /** Resource name in the calendar (`<uid>.ics` on import). */
  name: string;
  uid: string;
  /** VEVENT, VFREEBUSY, VTODO, VJOURNAL. */
  component: string;
  etag: string;
  ics: string;
  size: number;
  /** 1: recurring or several periods, expanded at query time; 0: one period in start_at/end_at. */
  expand: number;
  /** For expand=0: BUSY, BUSY-TENTATIVE or BUSY-UNAVAILABLE; null when it never blocks time. */
  fbtype: string | null;
  /** Earliest start and latest end any instance can have (epoch ms), the range index. */
  start_at: number;
  end_at: number;
  modseq: number;
  created_at: number;
  updated_at: number;
  /** Schedule-Tag of a scheduling object resource (RFC 6638 §3.2.10), else null. */
  schedule_tag: string | null;
}

/** Who may see an account's free/busy; no row means the domain default. */
export interface FreebusySharingTable {
  account_id: number;
  /** nobody | list | domain | anyone */
  policy: string;
  /** JSON array of addresses and domains. */
  allow: string;
  updated_at: number;
}

/** Federation assertions already used (hash of issuer + jti), kept until they expire. */
export interface FreebusyReplayTable {
  replay_key: string;
  expires_at: number;
}

/** A signing key of the embedded OpenID provider; retired keys stay published until their tokens expire. */
export interface IdpKeyTable {
  id: Generated<number>;
  kid: string;
  alg: string;
  /** The private JWK (JSON). */
  private_jwk: string;
  created_at: number;
  /** When it stopped signing (a newer key took over), or null for the current key. */
  retired_at: number | null;
  /** Latest `exp` of a token signed outside the provider (`admin token issue`); the key stays published until then. */
  last_token_exp: number | null;
}

/** Named random secrets of the embedded provider (cookie signing keys, CSRF key). */
export interface IdpSecretTable {
  name: string;
  value: string;
  created_at: number;
}

/** An account's TOTP key at the embedded provider (migration 031): sealed, confirmed once a code matched. */
export interface IdpTotpTable {
  account: string;
  sealed_key: string;
  confirmed_at: number | null;
  /** The last RFC 6238 time step accepted, so a code is good once. */
  last_step: number;
  created_at: number;
}

/** A recovery code: its keyed hash only; `used_at` once spent. */
export interface IdpRecoveryCodeTable {
  id: Generated<number>;
  account: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** A WebAuthn credential (passkey) of an account. */
export interface IdpPasskeyTable {
  id: Generated<number>;
  account: string;
  /** base64url credential id. */
  credential_id: string;
  /** base64url COSE public key. */
  public_key: string;
  counter: number;
  /** Comma-separated authenticator transports. */
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

/** Who asked for an account's free/busy and whether it was allowed (migration 091). */
export interface FreebusyAskTable {
  id: Generated<number>;
  account_id: number;
  /** The asker's address; empty for an anonymous ask. */
  asker: string;
  kind: string;
  issuer: string | null;
  allowed: number;
  asked_at: number;
}

/** oidc-provider's storage: one row per model instance (Session, Grant, RefreshToken, Client…). */
export interface IdpEntryTable {
  model: string;
  id: string;
  /** JSON payload as oidc-provider hands it over. */
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

/** JWT access tokens the embedded provider issued, so grant revocation can find and end their sessions. */
export interface IdpTokenTable {
  jti: string;
  grant_id: string | null;
  sid: string | null;
  account: string;
  client_id: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** An outbound message waiting for delivery to remote recipients (SMTP queue). */
export interface QueueMessageTable {
  id: Generated<number>;
  blob_id: string;
  size: number;
  /** Envelope sender; '' is the null reverse-path (bounces). */
  sender: string;
  /** The submitting account, when there is one. */
  account_id: number | null;
  smtputf8: number;
  created_at: number;
  /** After this, undelivered recipients bounce. */
  expires_at: number;
}

/** Delivery state of one recipient of a queued message. */
export interface QueueRecipientTable {
  id: Generated<number>;
  message_id: number;
  recipient: string;
  /** Lower-cased recipient domain, for grouping by destination. */
  domain: string;
  /** queued | sent | failed (bounced) */
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_error: string | null;
  /** Worker lease: the node delivering it now, and until when. */
  locked_by: string | null;
  locked_until: number | null;
  updated_at: number;
}

/** A greylisting triplet (RFC 6647 §4.2), shared by every node. */
export interface GreylistTable {
  client: string;
  sender: string;
  recipient: string;
  first_seen: number;
  last_seen: number;
  /** When a retry after the delay was accepted; null while it is still delayed. */
  passed_at: number | null;
  attempts: number;
}

/** Inbound DMARC results of one day, grouped as an aggregate report row (RFC 7489 §7.2, appendix C). */
export interface DmarcResultTable {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  policy_domain: string;
  /** The record's rua URIs, space-separated. */
  rua: string;
  /** policy_published as JSON (adkim, aspf, p, sp, pct). */
  policy: string;
  header_from: string;
  source_ip: string;
  disposition: string;
  dkim: string;
  spf: string;
  /** auth_results as JSON. */
  auth_results: string;
  messages: number;
}

/** Outbound TLS sessions of one day per policy domain (RFC 8460 §4.4); result '' is success. */
export interface TlsRptResultTable {
  day: string;
  policy_domain: string;
  /** The policy object (type, strings, mx-host) as JSON. */
  policy: string;
  result: string;
  receiving_mx: string;
  sessions: number;
}

/** A daily report sent, or given up on (kind `dmarc` or `tlsrpt`). */
export interface ReportSendTable {
  kind: string;
  domain: string;
  day: string;
  sent_at: number;
  outcome: string;
}

/** A DMARC aggregate report received for one of our domains (RFC 7489 §7.2). */
export interface DmarcReportTable {
  id: Generated<number>;
  org_name: string;
  email: string;
  report_id: string;
  domain: string;
  policy: string;
  begin_at: number;
  end_at: number;
  /** Messages the report covers, and how many of them failed DMARC. */
  messages: number;
  failed: number;
  /** The report's rows (src/mail/inbound/dmarc-report.ts DmarcReportRecord[]) as JSON. */
  records: string;
  received_at: number;
}

/** A DKIM signing key of a local domain (RFC 6376). */
export interface DkimKeyTable {
  id: Generated<number>;
  domain: string;
  selector: string;
  algorithm: string;
  private_key: string;
  public_key: string;
  active: number;
  created_at: number;
  /** A rotated-in key signs from this time on (src/mail/queue/dkim.ts); null for keys made active at once. */
  activate_at: Generated<number | null>;
}

/** Messages submitted per account, for sending limits. */
export interface SubmissionLogTable {
  id: Generated<number>;
  account_id: number;
  recipients: number;
  created_at: number;
}

/** The POP3 maildrop lock (RFC 1939 §8): one session per account across nodes, with a lease. */
export interface Pop3LockTable {
  account_id: number;
  holder: string;
  expires_at: number;
}

/** A blob a JMAP client uploaded (RFC 8620 §6.1): visible only to its account until it expires. */
export interface JmapUploadTable {
  id: Generated<number>;
  account_id: number;
  /** SHA-256 (hex) of the bytes in the blob store. */
  blob_id: string;
  type: string;
  size: number;
  created_at: number;
}

/** A JMAP Identity (RFC 8621 §6): a From address an account may send as. */
export interface JmapIdentityTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  email: string;
  /** JSON EmailAddress[] or null. */
  reply_to: string | null;
  bcc: string | null;
  text_signature: string;
  html_signature: string;
  created_at: number;
}

/** A JMAP EmailSubmission (RFC 8621 §7). */
export interface JmapSubmissionTable {
  id: Generated<number>;
  account_id: number;
  identity_id: number;
  email_id: number;
  thread_id: number;
  /** JSON Envelope. */
  envelope: string;
  send_at: number;
  /** pending | final | canceled */
  undo_status: string;
  /** JSON map recipient → DeliveryStatus. */
  delivery_status: string;
  queue_id: number | null;
  created_at: number;
}

/** The VacationResponse singleton of an account (RFC 8621 §8). */
export interface JmapVacationTable {
  account_id: number;
  is_enabled: number;
  from_date: number | null;
  to_date: number | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  updated_at: number;
}

/** Who got a vacation reply and when (RFC 3834 §2: at most one per sender per period). */
export interface JmapVacationReplyTable {
  account_id: number;
  sender: string;
  sent_at: number;
}

/** A Sieve script of an account (RFC 5804 §1.1); at most one per account has `active` 1. */
export interface SieveScriptTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  content: string;
  size: number;
  active: number;
  updated_at: number;
}

/** Who got a Sieve vacation reply and when, per handle (RFC 5230 §4.2). */
export interface SieveVacationReplyTable {
  account_id: number;
  handle: string;
  sender: string;
  sent_at: number;
}

/** A live authenticated session as a node mirrors it (auth/session-store.ts). */
export interface AuthSessionTable {
  id: string;
  /** The node (process) holding the connection. */
  node: string;
  account_id: number;
  address: string;
  protocol: string;
  listener: string;
  remote: string;
  /** password | app_password | bearer | gateway */
  method: string;
  /** App-password id or token `jti`. */
  credential_id: string | null;
  /** OIDC `sid`. */
  session_id: string | null;
  issuer: string | null;
  expires_at: number | null;
  started_at: number;
  /** Refreshed by the node's heartbeat; rows of nodes that stopped beating are stale. */
  seen_at: number;
}

/** Subscribed mailbox names (RFC 9051 §6.3.7); a name may outlive its mailbox. */
/** IMAP METADATA entries (RFC 5464); `mailbox_id` 0 is the server. `value` is base64, `size` its octets. */
export interface MailMetadataTable {
  account_id: number;
  mailbox_id: number;
  name: string;
  value: string;
  size: number;
  updated_at: number;
}

/** One mailbox shared with one account: its IMAP ACL rights (RFC 4314 §2.1), letters in `lrswipkxtea` order. */
export interface MailAclTable {
  mailbox_id: number;
  grantee_id: number;
  owner_id: number;
  rights: string;
  updated_at: number;
}

/** An ACL entry for `anyone`, `-anyone` or `-<address>` on a mailbox (RFC 4314 §2; migration 085). */
export interface MailAclIdentifierTable {
  mailbox_id: number;
  owner_id: number;
  identifier: string;
  rights: string;
  updated_at: number;
}

/** A message read by an account other than its owner: that account's own \Seen (RFC 4314 §4, migration 086). */
export interface MailPrivateSeenTable {
  message_id: number;
  account_id: number;
}

/** A ShareNotification (RFC 9670 §5): rights the account was given or lost; rights as JSON text or null. */
export interface ShareNotificationTable {
  id: Generated<number>;
  account_id: number;
  created_at: number;
  changed_by_id: number;
  changed_by_name: string;
  changed_by_email: string;
  object_type: string;
  object_account_id: number;
  object_id: number;
  old_rights: string | null;
  new_rights: string | null;
  name: string;
}

export interface SubscriptionTable {
  account_id: number;
  name: string;
  created_at: number;
}

/** The spelling a keyword was first written in, per account (`keyword` is lower-case). */
export interface KeywordNameTable {
  account_id: number;
  keyword: string;
  name: string;
}

/** Server-wide counters of the mail store (`uidvalidity`: the last UIDVALIDITY handed out). */
export interface MailCounterTable {
  name: string;
  value: number;
}

/** Per-account storage quota and usage in octets (migration 026). */
export interface MailQuotaTable {
  account_id: number;
  /** NULL: no limit. */
  storage_limit: number | null;
  storage_used: Generated<number>;
}

/** A JMAP PushSubscription (RFC 8620 §7.2, migration 061). */
export interface JmapPushSubscriptionTable {
  id: Generated<number>;
  account_id: number;
  device_client_id: string;
  url: string;
  /** The client's P-256 public key and auth secret (base64url, RFC 8291 §3), or NULL: unencrypted. */
  p256dh: string | null;
  auth: string | null;
  /** The code the server sent in the PushVerification. */
  verification_code: string;
  /** 1 once the client echoed the code back (then StateChanges are sent). */
  verified: number;
  expires: number;
  /** JSON array of type names, or NULL for all. */
  types: string | null;
  created_at: number;
}

/** One push message waiting to be sent (migration 061); a node holds it while `lease_until` is ahead. */
export interface JmapPushOutboxTable {
  id: Generated<number>;
  subscription_id: number;
  payload: string;
  attempts: Generated<number>;
  next_at: number;
  lease_until: Generated<number>;
  created_at: number;
}

/** The server's VAPID key pair (RFC 8292 §3.2), base64url; one row, id 1. */
export interface JmapVapidTable {
  id: number;
  public_key: string;
  private_key: string;
}

/** A blob kept in the database (src/store/db-blobs.ts); its bytes are in `blob_chunks`. */
export interface BlobTable {
  id: string;
  size: number;
  /** Epoch ms of the last store of these bytes (the collector's grace window starts here). */
  written_at: number;
}

/** One 1 MiB piece of a blob, in order of `seq` from 0. */
export interface BlobChunkTable {
  blob_id: string;
  seq: number;
  data: Uint8Array;
}

export interface Database {
  blobs: BlobTable;
  blob_chunks: BlobChunkTable;
  domains: DomainTable;
  accounts: AccountTable;
  aliases: AliasTable;
  app_passwords: AppPasswordTable;
  mailboxes: MailboxTable;
  messages: MessageTable;
  mailbox_messages: MailboxMessageTable;
  expunged: ExpungedTable;
  changes: ChangeTable;
  events: EventTable;
  message_text: MessageTextTable;
  mail_counters: MailCounterTable;
  mail_quotas: MailQuotaTable;
  subscriptions: SubscriptionTable;
  keyword_names: KeywordNameTable;
  mail_metadata: MailMetadataTable;
  mail_acl: MailAclTable;
  mail_acl_identifiers: MailAclIdentifierTable;
  mail_private_seen: MailPrivateSeenTable;
  share_notifications: ShareNotificationTable;
  calendars: CalendarTable;
  calendar_shares: CalendarShareTable;
  calendar_objects: CalendarObjectTable;
  calendar_tombstones: CalendarTombstoneTable;
  addressbooks: AddressbookTable;
  addressbook_shares: AddressbookShareTable;
  address_objects: AddressObjectTable;
  address_tombstones: AddressTombstoneTable;
  freebusy_sharing: FreebusySharingTable;
  freebusy_replay: FreebusyReplayTable;
  idp_keys: IdpKeyTable;
  idp_secrets: IdpSecretTable;
  idp_entries: IdpEntryTable;
  idp_tokens: IdpTokenTable;
  idp_totp: IdpTotpTable;
  idp_recovery_codes: IdpRecoveryCodeTable;
  idp_passkeys: IdpPasskeyTable;
  freebusy_asks: FreebusyAskTable;
  queue_messages: QueueMessageTable;
  queue_recipients: QueueRecipientTable;
  dkim_keys: DkimKeyTable;
  greylist: GreylistTable;
  dmarc_reports: DmarcReportTable;
  dmarc_results: DmarcResultTable;
  tls_rpt_results: TlsRptResultTable;
  report_sends: ReportSendTable;
  submission_log: SubmissionLogTable;
  pop3_locks: Pop3LockTable;
  jmap_uploads: JmapUploadTable;
  jmap_push_subscriptions: JmapPushSubscriptionTable;
  jmap_push_outbox: JmapPushOutboxTable;
  jmap_vapid: JmapVapidTable;
  jmap_identities: JmapIdentityTable;
  jmap_submissions: JmapSubmissionTable;
  jmap_vacation: JmapVacationTable;
  jmap_vacation_replies: JmapVacationReplyTable;
  auth_sessions: AuthSessionTable;
  sieve_scripts: SieveScriptTable;
  sieve_vacation_replies: SieveVacationReplyTable;
}
