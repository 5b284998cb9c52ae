import { ChangeLog } from './change-log.ts';
import { seenBy, seenIn, setSeenBy, withSeen } from './private-seen.ts';
import { checkMailboxShape, DELIMITER, keywordsFromText, keywordsToText, normalizeMailboxName, validKeyword } from './names.ts';
import { SearchText } from './search-text.ts';
import { type StorageQuota, StorageQuotas } from './storage-quota.ts';
import { type Trx, UnitOfWork } from './unit-of-work.ts';
import { Identities } from './identities.ts';
import { MessageIndex } from './message-index.ts';
import { EmailQueries } from './query/email-query.ts';
import type { LoggedChange, LoggedWrite } from './logged-write.ts';
import { MetadataStore } from './metadata.ts';
import { SharingStore } from './sharing/grants.ts';
import { SubmissionRecords } from './submission/records.ts';
import { Uploads } from './uploads.ts';
import { VacationSettings } from './vacation/settings.ts';
import { type Selectable, sql, type Transaction } from 'kysely';
import { FingerpostError } from '../core/errors.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Db } from '../store/db.ts';
import type { Database, MailboxTable } from '../store/schema.ts';
import { encodeBinaryParts } from './mime/binary-parts.ts';
import type { ParsedMessage } from './mime/types.ts';
import {
  type MailboxChanges,
  type Mailbox,
  type MailboxEntry,
  type MailChange,
  type MessageParser,
  type ObjectChanges,
  type StoredMessage,
  SYSTEM_KEYWORDS,
} from './types.ts';
import { nextUidValidity } from './uidvalidity.ts';
import { PushSubscriptions } from './push-subscriptions.ts';

export { MAX_MAILBOX_DEPTH, MAX_MAILBOX_SEGMENT, normalizeMailboxName, keywordsToText } from './names.ts';
export { STORAGE_QUOTA_ID, type StorageQuota } from './storage-quota.ts';

type MailboxRow = Selectable<MailboxTable> & { readonly is_subscribed: unknown };

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    role: row.role,
    uidValidity: row.uidvalidity,
    uidNext: row.uidnext,
    highestModseq: row.highest_modseq,
    firstRecentUid: row.first_recent_uid,
    // 0/1 from SQLite, a boolean from PostgreSQL.
    subscribed: Boolean(row.is_subscribed),
    sortOrder: row.sort_order,
    createdAt: row.created_at,
  };
}

/**
 * The one mail store behind IMAP, POP3, JMAP and SMTP delivery. Every change bumps the account's
 * MODSEQ (which is also the JMAP state), is written to the change log in the same transaction, and
 * is announced to watchers after commit.
 */
/** One message to append: its bytes, keywords as the client spelled them, and INTERNALDATE. */
export interface AppendItem {
  readonly raw: Buffer;
  readonly keywords?: readonly string[];
  readonly receivedAt?: number;
}

interface PreparedMessage {
  raw: Buffer;
  parsed: ParsedMessage;
  text: { readonly headers: string; readonly body: string };
  blobId: string;
  keywords: string[];
  spelled: readonly string[];
  receivedAt: number | undefined;
}

export class MailStore {
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #parser: MessageParser;
  readonly #now: () => number;
  readonly #uow: UnitOfWork;
  readonly #quotas: StorageQuotas;
  readonly #text: SearchText;
  #junkSorted: ((accountId: number, messageIds: readonly number[], kind: 'spam' | 'ham') => void) | undefined;
  /** Server and mailbox annotations (IMAP METADATA, RFC 5464). */
  readonly metadata: MetadataStore;
  /** The account change log read as JMAP states and changes (RFC 8620 §5.1–§5.2). */
  readonly changeLog: ChangeLog;
  /** Message and thread ids without loading messages. */
  readonly index: MessageIndex;
  /** Email queries: filters, sorts and thread collapsing (RFC 8621 §4.4). */
  readonly emailQueries: EmailQueries;
  /** Sending identities (RFC 8621 §6). */
  readonly identities: Identities;
  /** What each account sent (RFC 8621 §7). */
  readonly submissions: SubmissionRecords;
  /** Automatic reply settings (RFC 8621 §8). */
  readonly vacation: VacationSettings;
  /** Blobs accounts uploaded (RFC 8620 §6.1) and which blobs an account may read. */
  readonly uploads: Uploads;
  /** Mailboxes shared between accounts of a domain (IMAP ACL, RFC 4314; JMAP Sharing, RFC 9670). */
  readonly sharing: SharingStore;
  /** JMAP PushSubscriptions (RFC 8620 §7.2), their outbox and the server's VAPID key (RFC 8292). */
  readonly pushSubscriptions: PushSubscriptions;

  constructor(db: Db, blobs: BlobStore, parser: MessageParser, now: () => number = Date.now) {
    this.#db = db;
    this.#uow = new UnitOfWork(db);
    this.#quotas = new StorageQuotas(db, this.#uow);
    this.#text = new SearchText(db);
    const write: LoggedWrite = (accountId, type, fn) => this.#uow.writeLogged(accountId, type, fn);
    this.metadata = new MetadataStore(db, now, write);
    this.changeLog = new ChangeLog(db);
    this.index = new MessageIndex(db);
    this.identities = new Identities(db, write, now);
    this.emailQueries = new EmailQueries(db, this);
    this.submissions = new SubmissionRecords(db, write);
    this.vacation = new VacationSettings(db, write, now);
    this.uploads = new Uploads(db, blobs, now);
    this.sharing = new SharingStore(db, this, now);
    this.pushSubscriptions = new PushSubscriptions(db);
    this.#blobs = blobs;
    this.#parser = parser;
    this.#now = now;
  }

  get blobs(): BlobStore {
    return this.#blobs;
  }

  // ---------------------------------------------------------------- notifications (src/mail/unit-of-work.ts)

  /** Calls `listener` after every committed change to the account; returns an unsubscribe function. */
  watch(accountId: number, listener: (change: MailChange) => void): () => void {
    return this.#uow.watch(accountId, listener);
  }

  /** Calls `listener` after every change committed by this process, not those of other nodes. */
  onLocalChange(listener: (change: MailChange) => void): () => void {
    return this.#uow.onLocalChange(listener);
  }

  /** Also hands every committed change to `publish` (other nodes learn of it through the events table). */
  publishChangesTo(publish: (change: MailChange) => void): void {
    this.#uow.publishChangesTo(publish);
  }

  /** Announces a change made elsewhere (another node, seen through the events table). */
  announce(change: MailChange): void {
    this.#uow.announce(change);
  }

  /** Runs a write to objects kept beside the mail through the one unit of work (src/mail/unit-of-work.ts). */
  writeLogged<T>(
    accountId: number,
    type: string,
    fn: (trx: Transaction<Database>, modseq: () => Promise<number>) => Promise<{ value: T; changes: readonly LoggedChange[] }>,
  ): Promise<T> {
    return this.#uow.writeLogged(accountId, type, fn);
  }

  /**
   * Calls `listener` after messages were filed into the junk-role mailbox (`spam`) or out of it
   * into another one that is not trash (`ham`): IMAP COPY/MOVE and JMAP `mailboxIds` alike, so a
   * spam filter learns from what users sort (RFC 6154 `\\Junk`, RFC 8621 role `junk`).
   */
  onJunkSorted(listener: (accountId: number, messageIds: readonly number[], kind: 'spam' | 'ham') => void): void {
    this.#junkSorted = listener;
  }

  /** What filing from mailbox roles `from` into `to` teaches a spam filter, if anything. */
  #junkLesson(from: ReadonlySet<string>, to: ReadonlySet<string>): 'spam' | 'ham' | undefined {
    if (to.has('junk') && !from.has('junk')) return 'spam';
    if (from.has('junk') && !to.has('junk') && !to.has('trash') && to.size) return 'ham';
    return undefined;
  }

  async #rolesOf(mailboxIds: readonly number[]): Promise<Map<number, string>> {
    if (!mailboxIds.length) return new Map();
    const rows = await this.#db.kysely
      .selectFrom('mailboxes')
      .select(['id', 'role'])
      .where('id', 'in', [...mailboxIds])
      .execute();
    return new Map(rows.map((r) => [r.id, r.role ?? '']));
  }

  // ---------------------------------------------------------------- storage quota (src/mail/storage-quota.ts)

  /** The account's storage quota: the limit in octets (null: none) and the octets in use (RFC 9208 §5.1). */
  storageQuota(accountId: number): Promise<StorageQuota> {
    return this.#quotas.get(accountId);
  }

  /** Sets (or with null removes) the account's storage limit in octets; returns the change to publish. */
  setStorageLimit(accountId: number, limit: number | null): Promise<MailChange | undefined> {
    return this.#quotas.setLimit(accountId, limit);
  }

  async #touchMailbox(trx: Trx, mailboxId: number, modseq: number): Promise<void> {
    await trx
      .updateTable('mailboxes')
      .set({ highest_modseq: modseq })
      .where('id', '=', mailboxId)
      .where('highest_modseq', '<', modseq)
      .execute();
  }

  /** The account's current MODSEQ (the JMAP state of every type is at most this). */
  async accountModseq(accountId: number): Promise<number> {
    const row = await this.#db.kysely.selectFrom('accounts').select('modseq').where('id', '=', accountId).executeTakeFirst();
    if (!row) throw new FingerpostError('not_found', `account ${accountId} does not exist`);
    return row.modseq;
  }

  // ---------------------------------------------------------------- mailboxes

  /** Mailbox rows with their subscription state (RFC 9051 §6.3.7: the subscription belongs to the name). */
  #mailboxRows(db: Trx = this.#db.kysely) {
    return db
      .selectFrom('mailboxes')
      .leftJoin('subscriptions', (join) =>
        join.onRef('subscriptions.account_id', '=', 'mailboxes.account_id').onRef('subscriptions.name', '=', 'mailboxes.name'),
      )
      .selectAll('mailboxes')
      .select(sql<number>`case when subscriptions.name is null then 0 else 1 end`.as('is_subscribed'));
  }

  async listMailboxes(accountId: number): Promise<Mailbox[]> {
    const rows = await this.#mailboxRows()
      .where('mailboxes.account_id', '=', accountId)
      .orderBy('mailboxes.sort_order')
      .orderBy('mailboxes.name')
      .execute();
    return rows.map(toMailbox);
  }

  async getMailbox(accountId: number, name: string): Promise<Mailbox | undefined> {
    const row = await this.#mailboxRows()
      .where('mailboxes.account_id', '=', accountId)
      .where('mailboxes.name', '=', normalizeMailboxName(name))
      .executeTakeFirst();
    return row ? toMailbox(row) : undefined;
  }

  async getMailboxById(accountId: number, id: number): Promise<Mailbox | undefined> {
    const row = await this.#mailboxRows().where('mailboxes.account_id', '=', accountId).where('mailboxes.id', '=', id).executeTakeFirst();
    return row ? toMailbox(row) : undefined;
  }

  async mailboxByRole(accountId: number, role: string): Promise<Mailbox | undefined> {
    const row = await this.#mailboxRows()
      .where('mailboxes.account_id', '=', accountId)
      .where('mailboxes.role', '=', role)
      .executeTakeFirst();
    return row ? toMailbox(row) : undefined;
  }

  /** The subscribed names of an account, sorted; a name may have no mailbox (RFC 5258 \NonExistent). */
  async listSubscriptions(accountId: number): Promise<string[]> {
    const rows = await this.#db.kysely
      .selectFrom('subscriptions')
      .select('name')
      .where('account_id', '=', accountId)
      .orderBy('name')
      .execute();
    return rows.map((r) => r.name);
  }

  /** True when `name` is subscribed, inside a write. */
  async #isSubscribed(trx: Trx, accountId: number, name: string): Promise<boolean> {
    const row = await trx
      .selectFrom('subscriptions')
      .select('name')
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Subscribes or unsubscribes one name inside a write (no change log: the caller logs the mailbox). */
  async #subscribe(trx: Trx, accountId: number, name: string, subscribed: boolean): Promise<boolean> {
    if (subscribed) {
      const r = await trx
        .insertInto('subscriptions')
        .values({ account_id: accountId, name, created_at: this.#now() })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    }
    const r = await trx.deleteFrom('subscriptions').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Records the first spelling of keywords that are not system flags (IMAP shows it; RFC 9051 §2.3.2). */
  async #rememberKeywordNames(trx: Trx, accountId: number, keywords: readonly string[]): Promise<void> {
    const rows = new Map<string, string>();
    for (const k of keywords) {
      const lower = k.toLowerCase();
      if (k !== lower && !(SYSTEM_KEYWORDS as readonly string[]).includes(lower) && !rows.has(lower)) rows.set(lower, k);
    }
    if (!rows.size) return;
    await trx
      .insertInto('keyword_names')
      .values([...rows].map(([keyword, name]) => ({ account_id: accountId, keyword, name })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** The first spelling of the account's keywords that were written with capitals, by lower-case keyword. */
  async keywordNames(accountId: number): Promise<Map<string, string>> {
    const rows = await this.#db.kysely
      .selectFrom('keyword_names')
      .select(['keyword', 'name'])
      .where('account_id', '=', accountId)
      .execute();
    return new Map(rows.map((r) => [r.keyword, r.name]));
  }

  /**
   * Creates a mailbox and any missing parents (RFC 9051 §6.3.4). Fails with `already_exists` when
   * the name is taken. Names must be non-empty segments without `*`, `%` or control characters.
   */
  async createMailbox(accountId: number, rawName: string, options: { role?: string | null; subscribed?: boolean } = {}): Promise<Mailbox> {
    const name = normalizeMailboxName(rawName);
    const segments = name.split(DELIMITER);
    if (!name || segments.some((s) => s === '') || /[*%\x00-\x1f\x7f]/.test(name)) {
      throw new FingerpostError('invalid_argument', `"${rawName}" is not a valid mailbox name`);
    }
    if (name.length > 1000) throw new FingerpostError('invalid_argument', 'mailbox name too long');
    checkMailboxShape(name);
    const now = this.#now();
    const created = new Set<number>();
    const { value } = await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        if (
          await trx.selectFrom('mailboxes').select('id').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst()
        ) {
          throw new FingerpostError('already_exists', `mailbox ${name} already exists`);
        }
        if (
          options.role &&
          (await trx
            .selectFrom('mailboxes')
            .select('id')
            .where('account_id', '=', accountId)
            .where('role', '=', options.role)
            .executeTakeFirst())
        ) {
          throw new FingerpostError('already_exists', `a mailbox with role ${options.role} already exists`);
        }
        const m = await modseq();
        let last: Pick<Selectable<MailboxTable>, 'id'> | undefined;
        for (let i = 1; i <= segments.length; i++) {
          const path = segments.slice(0, i).join(DELIMITER);
          const existing = await trx
            .selectFrom('mailboxes')
            .select('id')
            .where('account_id', '=', accountId)
            .where('name', '=', path)
            .executeTakeFirst();
          if (existing) {
            last = existing;
            continue;
          }
          last = await trx
            .insertInto('mailboxes')
            .values({
              account_id: accountId,
              name: path,
              role: i === segments.length ? (options.role ?? null) : null,
              uidvalidity: await nextUidValidity(trx, now),
              uidnext: 1,
              highest_modseq: m,
              sort_order: 10,
              created_at: now,
              modseq: m,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          created.add(last.id);
          await this.#uow.logChange(trx, accountId, m, 'Mailbox', last.id, 'created');
        }
        // CREATE does not subscribe (RFC 9051 §6.3.4); JMAP's isSubscribed sets the name's state.
        if (options.subscribed !== undefined) await this.#subscribe(trx, accountId, name, options.subscribed);
        return toMailbox(await this.#mailboxRows(trx).where('mailboxes.id', '=', last!.id).executeTakeFirstOrThrow());
      },
      ['Mailbox'],
      created,
    );
    return value;
  }

  /**
   * Renames a mailbox and its children (RFC 9051 §6.3.6). Renaming INBOX moves its messages to
   * the new mailbox and leaves INBOX empty.
   */
  async renameMailbox(accountId: number, fromName: string, toName: string): Promise<void> {
    const from = normalizeMailboxName(fromName);
    const to = normalizeMailboxName(toName);
    if (!to || to.split(DELIMITER).some((s) => s === '') || /[*%\x00-\x1f\x7f]/.test(to)) {
      throw new FingerpostError('invalid_argument', `"${toName}" is not a valid mailbox name`);
    }
    if (from === 'INBOX') {
      const inbox = await this.getMailbox(accountId, 'INBOX');
      if (!inbox) throw new FingerpostError('not_found', 'INBOX does not exist');
      const target = await this.createMailbox(accountId, to);
      const uids = (await this.listEntries(inbox.id)).map((e) => e.uid);
      if (uids.length) await this.move(accountId, inbox.id, uids, target.id);
      return;
    }
    const touched = new Set<number>();
    await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        const rows = await trx.selectFrom('mailboxes').selectAll().where('account_id', '=', accountId).execute();
        const source = rows.find((r) => r.name === from);
        if (!source) throw new FingerpostError('not_found', `mailbox ${from} does not exist`);
        if (rows.some((r) => r.name === to)) throw new FingerpostError('already_exists', `mailbox ${to} already exists`);
        if (to.startsWith(`${from}${DELIMITER}`)) throw new FingerpostError('invalid_argument', 'cannot move a mailbox into itself');
        // The whole subtree moves: its deepest child must still fit.
        for (const row of rows)
          if (row.name === from || row.name.startsWith(`${from}${DELIMITER}`)) checkMailboxShape(to + row.name.slice(from.length));
        const m = await modseq();
        for (const row of rows) {
          if (row.name !== from && !row.name.startsWith(`${from}${DELIMITER}`)) continue;
          const newName = to + row.name.slice(from.length);
          // A new UIDVALIDITY: an older mailbox of that name may have used these UIDs (RFC 9051 §2.3.1.1).
          await trx
            .updateTable('mailboxes')
            .set({ name: newName, modseq: m, uidvalidity: await nextUidValidity(trx, this.#now()) })
            .where('id', '=', row.id)
            .execute();
          // The new name is subscribed when the old one was, so JMAP's isSubscribed of this mailbox
          // holds; the old name stays subscribed, as the server never drops a name from the list
          // by itself (RFC 3501 §6.3.6 SUBSCRIBE, RFC 9051 §6.3.7).
          if (await this.#isSubscribed(trx, accountId, row.name)) await this.#subscribe(trx, accountId, newName, true);
          await this.#uow.logChange(trx, accountId, m, 'Mailbox', row.id, 'updated');
          touched.add(row.id);
        }
        // Create missing parents of the new name.
        const segments = to.split(DELIMITER);
        const names = new Set(rows.map((r) => r.name));
        for (let i = 1; i < segments.length; i++) {
          const parent = segments.slice(0, i).join(DELIMITER);
          if (names.has(parent) || parent === from) continue;
          const created = await trx
            .insertInto('mailboxes')
            .values({
              account_id: accountId,
              name: parent,
              role: null,
              uidvalidity: await nextUidValidity(trx, this.#now()),
              uidnext: 1,
              highest_modseq: m,
              sort_order: 10,
              created_at: this.#now(),
              modseq: m,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          await this.#uow.logChange(trx, accountId, m, 'Mailbox', created.id, 'created');
        }
      },
      ['Mailbox'],
      touched,
    );
  }

  /**
   * Deletes a mailbox (RFC 9051 §6.3.5): its messages leave it (messages in no other mailbox are
   * destroyed). A mailbox with children cannot be deleted; INBOX cannot be deleted.
   */
  async deleteMailbox(accountId: number, name: string): Promise<void> {
    const target = normalizeMailboxName(name);
    if (target === 'INBOX') throw new FingerpostError('invalid_argument', 'INBOX cannot be deleted');
    const mailbox = await this.getMailbox(accountId, target);
    if (!mailbox) throw new FingerpostError('not_found', `mailbox ${target} does not exist`);
    const names = await this.#db.kysely.selectFrom('mailboxes').select('name').where('account_id', '=', accountId).execute();
    const child = names.some((r) => r.name.startsWith(`${target}${DELIMITER}`));
    if (child) throw new FingerpostError('invalid_argument', `mailbox ${target} has child mailboxes; delete them first`);
    await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        const m = await modseq();
        const members = await trx.selectFrom('mailbox_messages').select('message_id').where('mailbox_id', '=', mailbox.id).execute();
        await trx.deleteFrom('mailbox_messages').where('mailbox_id', '=', mailbox.id).execute();
        await this.#afterMembershipLoss(
          trx,
          accountId,
          m,
          members.map((r) => r.message_id),
        );
        await trx.deleteFrom('mailboxes').where('id', '=', mailbox.id).execute();
        // Its METADATA entries go with it (RFC 5464 §3.2).
        await trx.deleteFrom('mail_metadata').where('account_id', '=', accountId).where('mailbox_id', '=', mailbox.id).execute();
        await this.#uow.logChange(trx, accountId, m, 'Mailbox', mailbox.id, 'destroyed');
      },
      ['Mailbox', 'Email', 'Thread'],
      new Set([mailbox.id]),
    );
  }

  /**
   * Adds `name` to the subscription list or removes it (RFC 9051 §6.3.7–6.3.8). The list is of
   * names: a mailbox need not exist (a deleted one stays subscribed). Returns whether the list
   * changed. A mailbox of that name gets a Mailbox change (JMAP `isSubscribed`).
   */
  async setSubscribed(accountId: number, rawName: string, subscribed: boolean): Promise<boolean> {
    const name = normalizeMailboxName(rawName);
    const { value } = await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        if (!(await this.#subscribe(trx, accountId, name, subscribed))) return false;
        const mailbox = await trx
          .selectFrom('mailboxes')
          .select('id')
          .where('account_id', '=', accountId)
          .where('name', '=', name)
          .executeTakeFirst();
        if (mailbox) {
          const m = await modseq();
          await trx.updateTable('mailboxes').set({ modseq: m }).where('id', '=', mailbox.id).execute();
          await this.#uow.logChange(trx, accountId, m, 'Mailbox', mailbox.id, 'updated');
        }
        return true;
      },
      ['Mailbox'],
      new Set(),
    );
    return value;
  }

  /** Updates JMAP-visible mailbox properties (name handled by renameMailbox). */
  async updateMailbox(
    accountId: number,
    id: number,
    patch: { role?: string | null; sortOrder?: number; subscribed?: boolean },
  ): Promise<void> {
    await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        const m = await modseq();
        const set: { modseq: number; role?: string | null; sort_order?: number } = { modseq: m };
        if (patch.role !== undefined) set.role = patch.role;
        if (patch.sortOrder !== undefined) set.sort_order = patch.sortOrder;
        const row = await trx
          .updateTable('mailboxes')
          .set(set)
          .where('id', '=', id)
          .where('account_id', '=', accountId)
          .returning('name')
          .executeTakeFirst();
        if (!row) throw new FingerpostError('not_found', `mailbox ${id} does not exist`);
        if (patch.subscribed !== undefined) await this.#subscribe(trx, accountId, row.name, patch.subscribed);
        await this.#uow.logChange(trx, accountId, m, 'Mailbox', id, 'updated');
      },
      ['Mailbox'],
      new Set(),
    );
  }

  /**
   * Claims the \Recent messages of a mailbox for one IMAP4rev1 session (RFC 3501 §2.3.2): the UIDs
   * from the mailbox's first unclaimed UID up to `uidLimit` (exclusive), or null when none are left.
   * A compare-and-set on the mailbox row, so exactly one session gets each message, on any node.
   */
  async claimRecent(mailboxId: number, uidLimit: number): Promise<{ from: number; to: number } | null> {
    for (;;) {
      const row = await this.#db.kysely.selectFrom('mailboxes').select('first_recent_uid').where('id', '=', mailboxId).executeTakeFirst();
      if (!row || row.first_recent_uid >= uidLimit) return null;
      const r = await this.#db.kysely
        .updateTable('mailboxes')
        .set({ first_recent_uid: uidLimit })
        .where('id', '=', mailboxId)
        .where('first_recent_uid', '=', row.first_recent_uid)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) return { from: row.first_recent_uid, to: uidLimit };
    }
  }

  /** How many messages of a mailbox no session has claimed as \Recent yet (STATUS RECENT). */
  async unclaimedRecent(mailboxId: number, firstRecentUid: number): Promise<number> {
    const row = await this.#db.kysely
      .selectFrom('mailbox_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('mailbox_id', '=', mailboxId)
      .where('uid', '>=', firstRecentUid)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Message counts for STATUS and JMAP Mailbox objects. With `viewer` (an account other than the
   * owner, reading a shared mailbox) unseen messages and threads are by that account's own \Seen
   * (RFC 4314 §4).
   */
  async mailboxCounts(
    mailboxId: number,
    viewer?: number,
  ): Promise<{
    messages: number;
    unseen: number;
    deleted: number;
    /** Octets of the \Deleted messages: what EXPUNGE would free (RFC 9208 §4.2 DELETED-STORAGE). */
    deletedSize: number;
    size: number;
    threads: number;
    unreadThreads: number;
  }> {
    const rows = await this.#db.kysely
      .selectFrom('mailbox_messages')
      .innerJoin('messages', 'messages.id', 'mailbox_messages.message_id')
      .select(['messages.id', 'messages.keywords', 'messages.size', 'messages.thread_id'])
      .where('mailbox_messages.mailbox_id', '=', mailboxId)
      .execute();
    const readBy = viewer === undefined ? null : await seenIn(this.#db.kysely, viewer, { mailboxId });
    let unseen = 0;
    let deleted = 0;
    let deletedSize = 0;
    let size = 0;
    const threads = new Set<number>();
    const unreadThreads = new Set<number>();
    for (const r of rows) {
      const seen = readBy ? readBy.has(r.id) : ` ${r.keywords} `.includes(' $seen ');
      if (!seen) {
        unseen++;
        unreadThreads.add(r.thread_id);
      }
      if (` ${r.keywords} `.includes(' $deleted ')) {
        deleted++;
        deletedSize += Number(r.size);
      }
      size += r.size;
      threads.add(r.thread_id);
    }
    return { messages: rows.length, unseen, deleted, deletedSize, size, threads: threads.size, unreadThreads: unreadThreads.size };
  }

  // ---------------------------------------------------------------- messages

  /**
   * Stores a message durably in a mailbox: the blob is fsynced, then the rows commit (IMAP APPEND,
   * JMAP Email/import, SMTP delivery). Leaf bodies holding NUL are stored base64-encoded
   * (mime/binary-parts.ts, RFC 3516 §4.4). Returns its message id, UID and MODSEQ.
   */
  async append(
    accountId: number,
    mailboxId: number,
    raw: Buffer,
    options: { keywords?: readonly string[]; receivedAt?: number } = {},
  ): Promise<{ messageId: number; uid: number; modseq: number; uidValidity: number }> {
    return (await this.appendMany(accountId, mailboxId, [{ raw, ...options }]))[0]!;
  }

  /**
   * Stores several messages in one mailbox in one transaction, with consecutive UIDs and one
   * MODSEQ: all of them or none (IMAP MULTIAPPEND, RFC 3502 §6.3.11). Results in input order.
   */
  async appendMany(
    accountId: number,
    mailboxId: number,
    items: ReadonlyArray<AppendItem>,
  ): Promise<Array<{ messageId: number; uid: number; modseq: number; uidValidity: number }>> {
    if (!items.length) return [];
    const prepared = await this.#prepare(items);
    const now = this.#now();
    const { value } = await this.#uow.run(
      accountId,
      async (trx, modseq) => this.#insertPrepared(trx, accountId, mailboxId, await modseq(), prepared, now),
      ['Email', 'Thread', 'Mailbox'],
      new Set([mailboxId]),
    );
    return value;
  }

  /**
   * Replaces one message (IMAP REPLACE, RFC 8508 §3): appends `item` to `toMailboxId` and expunges
   * `uid` from `fromMailboxId` in one transaction with one MODSEQ, so either both happen or neither
   * (a UID no longer there is `not_found` and nothing is stored).
   */
  async replace(
    accountId: number,
    fromMailboxId: number,
    uid: number,
    toMailboxId: number,
    item: AppendItem,
  ): Promise<{ messageId: number; uid: number; modseq: number; uidValidity: number }> {
    const prepared = await this.#prepare([item]);
    const now = this.#now();
    const { value } = await this.#uow.run(
      accountId,
      async (trx, modseq) => {
        const m = await modseq();
        const [victim] = await this.#entriesByUid(trx, fromMailboxId, [uid]);
        if (!victim) throw new FingerpostError('not_found', 'the message to replace no longer exists');
        // The old message leaves first, so its octets are free before the new one counts against
        // the storage quota (RFC 9208 §5.1): replacing at the limit with a smaller message works.
        await trx.deleteFrom('mailbox_messages').where('mailbox_id', '=', fromMailboxId).where('uid', '=', uid).execute();
        await trx.insertInto('expunged').values({ mailbox_id: fromMailboxId, uid, modseq: m }).execute();
        await this.#afterMembershipLoss(trx, accountId, m, [victim.message_id]);
        await this.#touchMailbox(trx, fromMailboxId, m);
        const [appended] = await this.#insertPrepared(trx, accountId, toMailboxId, m, prepared, now);
        return appended!;
      },
      ['Email', 'Thread', 'Mailbox'],
      new Set([fromMailboxId, toMailboxId]),
    );
    return value;
  }

  /** Parses, checks and stores the blobs of messages about to be appended (outside any transaction). */
  async #prepare(items: ReadonlyArray<AppendItem>): Promise<PreparedMessage[]> {
    const prepared: PreparedMessage[] = [];
    for (const item of items) {
      if (item.raw.length === 0) throw new FingerpostError('invalid_argument', 'empty message');
      const keywords = (item.keywords ?? []).map((k) => k.toLowerCase());
      const bad = keywords.find((k) => !validKeyword(k));
      if (bad !== undefined) throw new FingerpostError('invalid_argument', `invalid keyword ${JSON.stringify(bad)}`);
      let raw = item.raw;
      let { parsed, text } = await this.#parser.analyze(raw);
      // Binary leaf bodies with NUL are kept base64-encoded: no protocol could send them otherwise.
      const encoded = raw.includes(0) ? encodeBinaryParts(raw, parsed.root) : null;
      if (encoded) {
        raw = encoded;
        ({ parsed, text } = await this.#parser.analyze(raw));
      }
      const blobId = await this.#blobs.put(raw);
      prepared.push({ raw, parsed, text, blobId, keywords, spelled: item.keywords ?? [], receivedAt: item.receivedAt });
    }
    return prepared;
  }

  /** Inserts prepared messages into a mailbox with consecutive UIDs and MODSEQ `m`, in `trx`. */
  async #insertPrepared(
    trx: Trx,
    accountId: number,
    mailboxId: number,
    m: number,
    prepared: readonly PreparedMessage[],
    now: number,
  ): Promise<Array<{ messageId: number; uid: number; modseq: number; uidValidity: number }>> {
    const mailbox = await trx
      .updateTable('mailboxes')
      .set((eb) => ({ uidnext: eb('uidnext', '+', prepared.length), highest_modseq: m }))
      .where('id', '=', mailboxId)
      .where('account_id', '=', accountId)
      .returning(['uidnext', 'uidvalidity'])
      .executeTakeFirst();
    if (!mailbox) throw new FingerpostError('not_found', `mailbox ${mailboxId} does not exist`);
    const results = [];
    for (const [i, p] of prepared.entries()) {
      await this.#rememberKeywordNames(trx, accountId, p.spelled);
      const uid = mailbox.uidnext - prepared.length + i;
      const threadId = await this.#findThread(trx, accountId, p.parsed);
      const row = await trx
        .insertInto('messages')
        .values({
          account_id: accountId,
          blob_id: p.blobId,
          size: p.raw.length,
          received_at: p.receivedAt ?? now,
          thread_id: threadId ?? 0,
          message_id_header: p.parsed.messageId,
          subject: p.parsed.subject.slice(0, 1000),
          sent_at: p.parsed.sentAt,
          from_addr: p.parsed.from
            .map((a) => a.email)
            .join(', ')
            .slice(0, 1000),
          to_addr: p.parsed.to
            .map((a) => a.email)
            .join(', ')
            .slice(0, 1000),
          keywords: keywordsToText(p.keywords),
          meta: JSON.stringify(p.parsed),
          modseq: m,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const messageId = row.id;
      const thread = threadId ?? messageId;
      if (threadId === undefined) await trx.updateTable('messages').set({ thread_id: thread }).where('id', '=', messageId).execute();
      await trx
        .insertInto('mailbox_messages')
        .values({ mailbox_id: mailboxId, uid, message_id: messageId, modseq: m, saved_at: now })
        .execute();
      await trx
        .insertInto('message_text')
        .values({
          message_id: messageId,
          account_id: accountId,
          headers: p.text.headers.toLowerCase(),
          body: p.text.body.toLowerCase(),
        })
        .execute();
      await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'created');
      await this.#uow.logChange(trx, accountId, m, 'Thread', thread, threadId === undefined ? 'created' : 'updated');
      results.push({ messageId, uid, modseq: m, uidValidity: mailbox.uidvalidity });
    }
    await this.#quotas.addUsage(
      trx,
      accountId,
      m,
      prepared.reduce((n, p) => n + p.raw.length, 0),
    );
    return results;
  }

  /** Delivers to the account's mailbox with `role` (default INBOX) — SMTP's path into the store. */
  async deliver(
    accountId: number,
    raw: Buffer,
    options: { role?: string; keywords?: readonly string[] } = {},
  ): Promise<{ messageId: number; uid: number }> {
    const mailbox = (await this.mailboxByRole(accountId, options.role ?? 'inbox')) ?? (await this.getMailbox(accountId, 'INBOX'));
    if (!mailbox) throw new FingerpostError('not_found', `account ${accountId} has no INBOX`);
    return this.append(accountId, mailbox.id, raw, { keywords: options.keywords ?? [] });
  }

  /** Thread of the first known message this one references (RFC 5256-style by References/In-Reply-To). */
  async #findThread(trx: Trx, accountId: number, parsed: ParsedMessage): Promise<number | undefined> {
    const refs = [...new Set([...parsed.inReplyTo, ...parsed.references])].slice(-50);
    if (!refs.length) return undefined;
    const row = await trx
      .selectFrom('messages')
      .select('thread_id')
      .where('account_id', '=', accountId)
      .where('message_id_header', 'in', refs)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row?.thread_id;
  }

  /** Every message of a mailbox in UID order, with flags and sizes (no bodies). */
  listEntries(mailboxId: number): Promise<MailboxEntry[]> {
    return this.listEntriesAfter(mailboxId, 0, Number.MAX_SAFE_INTEGER);
  }

  /** Up to `limit` messages of a mailbox with a UID above `afterUid`, in UID order: a large mailbox read in steps. */
  async listEntriesAfter(mailboxId: number, afterUid: number, limit: number): Promise<MailboxEntry[]> {
    let q = this.#db.kysely
      .selectFrom('mailbox_messages as mm')
      .innerJoin('messages as m', 'm.id', 'mm.message_id')
      .select(['mm.uid', 'mm.message_id', 'mm.modseq', 'm.keywords', 'm.size', 'm.received_at'])
      .where('mm.mailbox_id', '=', mailboxId)
      .orderBy('mm.uid');
    if (afterUid > 0) q = q.where('mm.uid', '>', afterUid);
    if (limit < Number.MAX_SAFE_INTEGER) q = q.limit(limit);
    const rows = await q.execute();
    return rows.map((r) => ({
      uid: r.uid,
      messageId: r.message_id,
      modseq: r.modseq,
      keywords: keywordsFromText(r.keywords),
      size: r.size,
      receivedAt: r.received_at,
    }));
  }

  /** The messages of `messageIds` that `viewer` (not their owner) has read: its own \Seen on a shared mailbox (RFC 4314 §4). */
  seenBy(viewer: number, messageIds: readonly number[]): Promise<Set<number>> {
    return seenBy(this.#db.kysely, viewer, messageIds);
  }

  /** The messages of a mailbox that `viewer` (not its owner) has read (RFC 4314 §4). */
  seenIn(viewer: number, mailboxId: number): Promise<Set<number>> {
    return seenIn(this.#db.kysely, viewer, { mailboxId });
  }

  /** The message a mailbox holds under `uid` (an IMAP URL, RFC 5092), or undefined. */
  async messageIdAt(mailboxId: number, uid: number): Promise<number | undefined> {
    const row = await this.#db.kysely
      .selectFrom('mailbox_messages')
      .select('message_id')
      .where('mailbox_id', '=', mailboxId)
      .where('uid', '=', uid)
      .executeTakeFirst();
    return row?.message_id;
  }

  /** When messages (by UID) were saved into a mailbox (IMAP SAVEDATE, RFC 8514); unknown ones are absent. */
  async savedDates(mailboxId: number, uids: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < uids.length; i += 500) {
      const rows = await this.#db.kysely
        .selectFrom('mailbox_messages')
        .select(['uid', 'saved_at'])
        .where('mailbox_id', '=', mailboxId)
        .where('uid', 'in', uids.slice(i, i + 500) as number[])
        .execute();
      for (const r of rows) if (r.saved_at !== null) out.set(r.uid, r.saved_at);
    }
    return out;
  }

  /**
   * What changed in a mailbox after `sinceModseq` (RFC 7162 CHANGEDSINCE / QRESYNC). The returned
   * HIGHESTMODSEQ is read before the changes, so every change up to it is in the answer even when
   * writers commit between the reads (with several connections the reads are not one snapshot);
   * the answer may hold changes above it, never fewer below it.
   */
  async mailboxChanges(mailboxId: number, sinceModseq: number): Promise<MailboxChanges> {
    const mailbox = await this.#db.kysely.selectFrom('mailboxes').select('highest_modseq').where('id', '=', mailboxId).executeTakeFirst();
    const [changed, expunged] = await Promise.all([
      this.#db.kysely
        .selectFrom('mailbox_messages as mm')
        .innerJoin('messages as m', 'm.id', 'mm.message_id')
        .select(['mm.uid', 'mm.message_id', 'mm.modseq', 'm.keywords', 'm.size', 'm.received_at'])
        .where('mm.mailbox_id', '=', mailboxId)
        .where('mm.modseq', '>', sinceModseq)
        .orderBy('mm.uid')
        .execute(),
      this.#db.kysely
        .selectFrom('expunged')
        .select('uid')
        .where('mailbox_id', '=', mailboxId)
        .where('modseq', '>', sinceModseq)
        .orderBy('uid')
        .execute(),
    ]);
    if (!mailbox) throw new FingerpostError('not_found', `mailbox ${mailboxId} does not exist`);
    return {
      highestModseq: mailbox.highest_modseq,
      changed: changed.map((r) => ({
        uid: r.uid,
        messageId: r.message_id,
        modseq: r.modseq,
        keywords: keywordsFromText(r.keywords),
        size: r.size,
        receivedAt: r.received_at,
      })),
      expunged: expunged.map((r) => r.uid),
    };
  }

  /**
   * Loads messages with their parsed structure, in the order of `ids` (missing ones skipped). With
   * `viewer` (an account other than the owner) `$seen` in the keywords is that account's own (RFC 4314 §4).
   */
  async getMessages(accountId: number, ids: readonly number[], viewer?: number): Promise<StoredMessage[]> {
    if (!ids.length) return [];
    const read = viewer !== undefined && viewer !== accountId ? await seenBy(this.#db.kysely, viewer, ids) : null;
    const out = new Map<number, StoredMessage>();
    for (let i = 0; i < ids.length; i += 500) {
      // By primary key only, the account checked per row: with `account_id` in the WHERE, SQLite
      // (no statistics) scans the account's index instead of looking the ids up (10x slower at 10k).
      const rows = await this.#db.kysely
        .selectFrom('messages')
        .select(['id', 'account_id', 'blob_id', 'size', 'received_at', 'thread_id', 'keywords', 'modseq', 'meta'])
        .where('id', 'in', ids.slice(i, i + 500) as number[])
        .execute();
      for (const r of rows) {
        if (r.account_id !== accountId) continue;
        out.set(r.id, {
          id: r.id,
          accountId: r.account_id,
          blobId: r.blob_id,
          size: r.size,
          receivedAt: r.received_at,
          threadId: r.thread_id,
          keywords: read ? withSeen(keywordsFromText(r.keywords), read.has(r.id)) : keywordsFromText(r.keywords),
          modseq: r.modseq,
          meta: JSON.parse(r.meta) as ParsedMessage,
        });
      }
    }
    return ids.flatMap((id) => out.get(id) ?? []);
  }

  /**
   * Size, arrival and the parsed structure as stored (JSON text, not parsed here) of an account's
   * messages; missing ones skipped. For work that parses it elsewhere (IMAP SORT's worker thread).
   */
  async messageMeta(
    accountId: number,
    ids: readonly number[],
  ): Promise<Array<{ id: number; size: number; receivedAt: number; meta: string }>> {
    const out: Array<{ id: number; size: number; receivedAt: number; meta: string }> = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db.kysely
        .selectFrom('messages')
        .select(['id', 'account_id', 'size', 'received_at', 'meta'])
        .where('id', 'in', ids.slice(i, i + 500) as number[])
        .execute();
      for (const r of rows) if (r.account_id === accountId) out.push({ id: r.id, size: r.size, receivedAt: r.received_at, meta: r.meta });
    }
    return out;
  }

  /** Mailboxes each message belongs to (JMAP `mailboxIds`). */
  async mailboxIdsOf(messageIds: readonly number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    for (let i = 0; i < messageIds.length; i += 500) {
      const rows = await this.#db.kysely
        .selectFrom('mailbox_messages')
        .select(['message_id', 'mailbox_id'])
        .where('message_id', 'in', messageIds.slice(i, i + 500) as number[])
        .execute();
      for (const r of rows) out.set(r.message_id, [...(out.get(r.message_id) ?? []), r.mailbox_id]);
    }
    return out;
  }

  /** The messages of an account stored as one of `blobIds` (content hashes), for RFC 9404 Blob/lookup. */
  async messagesByBlob(accountId: number, blobIds: readonly string[]): Promise<Array<{ id: number; blobId: string; threadId: number }>> {
    if (!blobIds.length) return [];
    const rows = await this.#db.kysely
      .selectFrom('messages')
      .select(['id', 'blob_id', 'thread_id'])
      .where('account_id', '=', accountId)
      .where('blob_id', 'in', [...blobIds])
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: r.id, blobId: r.blob_id, threadId: r.thread_id }));
  }

  /** The raw bytes of a message. */
  readRaw(message: Pick<StoredMessage, 'blobId'>): Promise<Buffer> {
    return this.#blobs.get(message.blobId);
  }

  /**
   * Changes keywords of messages identified by UID in a mailbox (IMAP STORE, RFC 7162
   * UNCHANGEDSINCE). Returns the entries after the change and the UIDs that failed the
   * UNCHANGEDSINCE test. Entries whose keywords do not change keep their MODSEQ. With `viewer` (an
   * account other than the owner, on a shared mailbox) `$seen` is that account's own (RFC 4314
   * §4): it is read and written per account, the other keywords are shared; a change to it still
   * raises the message's MODSEQ, so the reader's CONDSTORE state and other sessions follow it.
   */
  async storeKeywords(
    accountId: number,
    mailboxId: number,
    uids: readonly number[],
    op: 'add' | 'remove' | 'set',
    keywords: readonly string[],
    options: { unchangedSince?: number; viewer?: number } = {},
  ): Promise<{ updated: MailboxEntry[]; failed: number[]; modseq: number }> {
    const viewer = options.viewer !== undefined && options.viewer !== accountId ? options.viewer : undefined;
    const wanted = keywords.map((k) => k.toLowerCase());
    const bad = wanted.find((k) => !validKeyword(k));
    if (bad !== undefined) throw new FingerpostError('invalid_argument', `invalid keyword ${JSON.stringify(bad)}`);
    const failed: number[] = [];
    const updated: MailboxEntry[] = [];
    const { modseq } = await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const rows = await this.#entriesByUid(trx, mailboxId, uids);
        if (op !== 'remove' && rows.length) await this.#rememberKeywordNames(trx, accountId, keywords);
        const read =
          viewer === undefined
            ? null
            : await seenBy(
                trx,
                viewer,
                rows.map((r) => r.message_id),
              );
        let m = 0;
        for (const r of rows) {
          if (options.unchangedSince !== undefined && r.modseq > options.unchangedSince) {
            failed.push(r.uid);
            continue;
          }
          const shared = keywordsFromText(r.keywords);
          const wasSeen = read ? read.has(r.message_id) : shared.includes('$seen');
          const next = op === 'set' ? new Set(wanted) : new Set(read ? withSeen(shared, wasSeen) : shared);
          if (op === 'add') for (const k of wanted) next.add(k);
          if (op === 'remove') for (const k of wanted) next.delete(k);
          const seen = next.has('$seen');
          // A reader's \Seen goes to its own row; the owner's stays as it was.
          const text = keywordsToText(read ? withSeen([...next], shared.includes('$seen')) : next);
          if (text === r.keywords && seen === wasSeen) continue;
          m ||= await nextModseq();
          await trx.updateTable('messages').set({ keywords: text, modseq: m }).where('id', '=', r.message_id).execute();
          await trx.updateTable('mailbox_messages').set({ modseq: m }).where('message_id', '=', r.message_id).execute();
          if (viewer !== undefined && seen !== wasSeen) await setSeenBy(trx, viewer, r.message_id, seen);
          await this.#uow.logChange(trx, accountId, m, 'Email', r.message_id, 'updated');
          updated.push({
            uid: r.uid,
            messageId: r.message_id,
            modseq: m,
            keywords: keywordsFromText(keywordsToText(next)),
            size: r.size,
            receivedAt: r.received_at,
          });
        }
        if (m) {
          const boxes = await trx
            .selectFrom('mailbox_messages')
            .select('mailbox_id')
            .distinct()
            .where(
              'message_id',
              'in',
              updated.map((u) => u.messageId),
            )
            .execute();
          for (const b of boxes) await this.#touchMailbox(trx, b.mailbox_id, m);
        }
      },
      ['Email', 'Mailbox'],
      new Set([mailboxId]),
    );
    return { updated, failed, modseq };
  }

  async #entriesByUid(trx: Trx, mailboxId: number, uids: readonly number[]) {
    const out: Array<{ uid: number; message_id: number; modseq: number; keywords: string; size: number; received_at: number }> = [];
    for (let i = 0; i < uids.length; i += 500) {
      out.push(
        ...(await trx
          .selectFrom('mailbox_messages as mm')
          .innerJoin('messages as m', 'm.id', 'mm.message_id')
          .select(['mm.uid', 'mm.message_id', 'mm.modseq', 'm.keywords', 'm.size', 'm.received_at'])
          .where('mm.mailbox_id', '=', mailboxId)
          .where('mm.uid', 'in', uids.slice(i, i + 500) as number[])
          .orderBy('mm.uid')
          .execute()),
      );
    }
    return out.sort((a, b) => a.uid - b.uid);
  }

  /**
   * Copies messages by UID into another mailbox (RFC 9051 §6.4.7, RFC 4315 COPYUID). Each copy is
   * a new message sharing the blob, so flags of copies change independently as IMAP expects.
   */
  async copy(
    accountId: number,
    fromMailboxId: number,
    uids: readonly number[],
    toMailboxId: number,
  ): Promise<{ uidValidity: number; pairs: Array<[number, number]> }> {
    return (await this.#copyOrMove(accountId, fromMailboxId, uids, toMailboxId, false)).value;
  }

  /** Moves messages by UID (RFC 6851): the same message leaves one mailbox and joins another. */
  async move(
    accountId: number,
    fromMailboxId: number,
    uids: readonly number[],
    toMailboxId: number,
  ): Promise<{ uidValidity: number; pairs: Array<[number, number]> }> {
    return (await this.#copyOrMove(accountId, fromMailboxId, uids, toMailboxId, true)).value;
  }

  async #copyOrMove(accountId: number, fromMailboxId: number, uids: readonly number[], toMailboxId: number, move: boolean) {
    const filed: number[] = [];
    const result = await this.#copyOrMoveRows(accountId, fromMailboxId, uids, toMailboxId, move, filed);
    if (this.#junkSorted && filed.length && fromMailboxId !== toMailboxId) {
      const roles = await this.#rolesOf([fromMailboxId, toMailboxId]);
      const lesson = this.#junkLesson(new Set([roles.get(fromMailboxId) ?? '']), new Set([roles.get(toMailboxId) ?? '']));
      if (lesson) this.#junkSorted(accountId, filed, lesson);
    }
    return result;
  }

  async #copyOrMoveRows(
    accountId: number,
    fromMailboxId: number,
    uids: readonly number[],
    toMailboxId: number,
    move: boolean,
    filed: number[],
  ) {
    return this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const target = await trx
          .selectFrom('mailboxes')
          .selectAll()
          .where('id', '=', toMailboxId)
          .where('account_id', '=', accountId)
          .executeTakeFirst();
        if (!target) throw new FingerpostError('not_found', `mailbox ${toMailboxId} does not exist`);
        const rows = await this.#entriesByUid(trx, fromMailboxId, uids);
        const pairs: Array<[number, number]> = [];
        if (!rows.length) return { uidValidity: target.uidvalidity, pairs };
        const m = await nextModseq();
        let uidnext = target.uidnext;
        let copied = 0;
        for (const r of rows) {
          const uid = uidnext++;
          let messageId = r.message_id;
          // Moving within one mailbox (RFC 6851 allows it) re-files the message under a new UID.
          if (move && toMailboxId === fromMailboxId) {
            await trx.deleteFrom('mailbox_messages').where('mailbox_id', '=', fromMailboxId).where('uid', '=', r.uid).execute();
            await trx.insertInto('expunged').values({ mailbox_id: fromMailboxId, uid: r.uid, modseq: m }).execute();
          } else if (move) {
            const already = await trx
              .selectFrom('mailbox_messages')
              .select('uid')
              .where('mailbox_id', '=', toMailboxId)
              .where('message_id', '=', messageId)
              .executeTakeFirst();
            await trx.deleteFrom('mailbox_messages').where('mailbox_id', '=', fromMailboxId).where('uid', '=', r.uid).execute();
            await trx.insertInto('expunged').values({ mailbox_id: fromMailboxId, uid: r.uid, modseq: m }).execute();
            if (already) {
              uidnext--;
              pairs.push([r.uid, already.uid]);
              await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'updated');
              continue;
            }
          } else {
            const source = await trx.selectFrom('messages').selectAll().where('id', '=', r.message_id).executeTakeFirstOrThrow();
            const { id: _id, ...copy } = source;
            const inserted = await trx
              .insertInto('messages')
              .values({ ...copy, modseq: m, created_at: this.#now() })
              .returning('id')
              .executeTakeFirstOrThrow();
            messageId = inserted.id;
            copied += source.size;
            const text = await trx
              .selectFrom('message_text')
              .select(['headers', 'body'])
              .where('message_id', '=', r.message_id)
              .executeTakeFirst();
            if (text)
              await trx
                .insertInto('message_text')
                .values({ message_id: messageId, account_id: accountId, ...text })
                .execute();
            await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'created');
            await this.#uow.logChange(trx, accountId, m, 'Thread', copy.thread_id, 'updated');
          }
          if (move) await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'updated');
          await trx
            .insertInto('mailbox_messages')
            .values({ mailbox_id: toMailboxId, uid, message_id: messageId, modseq: m, saved_at: this.#now() })
            .execute();
          filed.push(messageId);
          pairs.push([r.uid, uid]);
        }
        await trx.updateTable('mailboxes').set({ uidnext, highest_modseq: m }).where('id', '=', toMailboxId).execute();
        if (move) await this.#touchMailbox(trx, fromMailboxId, m);
        await this.#quotas.addUsage(trx, accountId, m, copied);
        return { uidValidity: target.uidvalidity, pairs };
      },
      ['Email', 'Thread', 'Mailbox'],
      new Set([fromMailboxId, toMailboxId]),
    );
  }

  /**
   * Removes messages from a mailbox (IMAP EXPUNGE / UID EXPUNGE, POP3 DELE at QUIT, JMAP mailbox
   * removal). With `onlyDeleted`, only UIDs carrying `$deleted` go. Messages left in no mailbox
   * are destroyed. Returns the expunged UIDs, ascending.
   */
  async expunge(
    accountId: number,
    mailboxId: number,
    options: { uids?: readonly number[]; onlyDeleted?: boolean } = {},
  ): Promise<number[]> {
    const removed: number[] = [];
    await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const rows = options.uids
          ? await this.#entriesByUid(trx, mailboxId, options.uids)
          : await trx
              .selectFrom('mailbox_messages as mm')
              .innerJoin('messages as m', 'm.id', 'mm.message_id')
              .select(['mm.uid', 'mm.message_id', 'mm.modseq', 'm.keywords', 'm.size', 'm.received_at'])
              .where('mm.mailbox_id', '=', mailboxId)
              .orderBy('mm.uid')
              .execute();
        const victims = rows.filter((r) => !options.onlyDeleted || ` ${r.keywords} `.includes(' $deleted '));
        if (!victims.length) return;
        const m = await nextModseq();
        for (let i = 0; i < victims.length; i += 500) {
          const chunk = victims.slice(i, i + 500);
          await trx
            .deleteFrom('mailbox_messages')
            .where('mailbox_id', '=', mailboxId)
            .where(
              'uid',
              'in',
              chunk.map((v) => v.uid),
            )
            .execute();
          await trx
            .insertInto('expunged')
            .values(chunk.map((v) => ({ mailbox_id: mailboxId, uid: v.uid, modseq: m })))
            .execute();
        }
        await this.#afterMembershipLoss(
          trx,
          accountId,
          m,
          victims.map((v) => v.message_id),
        );
        await this.#touchMailbox(trx, mailboxId, m);
        removed.push(...victims.map((v) => v.uid));
      },
      ['Email', 'Thread', 'Mailbox'],
      new Set([mailboxId]),
    );
    return removed;
  }

  /** Destroys messages that are in no mailbox any more; logs an update for the others. */
  async #afterMembershipLoss(trx: Transaction<Database>, accountId: number, modseq: number, messageIds: readonly number[]): Promise<void> {
    let freed = 0;
    for (const id of new Set(messageIds)) {
      const still = await trx.selectFrom('mailbox_messages').select('mailbox_id').where('message_id', '=', id).limit(1).executeTakeFirst();
      if (still) {
        await trx.updateTable('messages').set({ modseq }).where('id', '=', id).execute();
        await trx.updateTable('mailbox_messages').set({ modseq }).where('message_id', '=', id).execute();
        await this.#uow.logChange(trx, accountId, modseq, 'Email', id, 'updated');
        continue;
      }
      const msg = await trx.selectFrom('messages').select(['thread_id', 'size']).where('id', '=', id).executeTakeFirst();
      await trx.deleteFrom('messages').where('id', '=', id).execute();
      if (msg) freed += Number(msg.size);
      await this.#uow.logChange(trx, accountId, modseq, 'Email', id, 'destroyed');
      if (msg) await this.#uow.logChange(trx, accountId, modseq, 'Thread', msg.thread_id, 'updated');
    }
    await this.#quotas.addUsage(trx, accountId, modseq, -freed);
  }

  /**
   * Sets the exact mailbox membership of messages (JMAP Email/set `mailboxIds`). A message left
   * in no mailbox is refused here; destroy it instead.
   */
  async setMailboxes(accountId: number, messageId: number, mailboxIds: readonly number[]): Promise<void> {
    if (!mailboxIds.length) throw new FingerpostError('invalid_argument', 'a message must be in at least one mailbox');
    const before = this.#junkSorted ? ((await this.mailboxIdsOf([messageId])).get(messageId) ?? []) : [];
    await this.#setMailboxes(accountId, messageId, mailboxIds);
    if (this.#junkSorted) {
      const roles = await this.#rolesOf([...before, ...mailboxIds]);
      const from = new Set(before.map((id) => roles.get(id) ?? ''));
      const to = new Set(mailboxIds.filter((id) => !before.includes(id)).map((id) => roles.get(id) ?? ''));
      const lesson = this.#junkLesson(from, to);
      if (lesson) this.#junkSorted(accountId, [messageId], lesson);
    }
  }

  async #setMailboxes(accountId: number, messageId: number, mailboxIds: readonly number[]): Promise<void> {
    const touched = new Set<number>();
    await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const current = await trx
          .selectFrom('mailbox_messages')
          .select(['mailbox_id', 'uid'])
          .where('message_id', '=', messageId)
          .execute();
        const want = new Set(mailboxIds);
        const have = new Set(current.map((c) => c.mailbox_id));
        const add = [...want].filter((id) => !have.has(id));
        const remove = current.filter((c) => !want.has(c.mailbox_id));
        if (!add.length && !remove.length) return;
        const m = await nextModseq();
        for (const id of add) {
          const box = await trx
            .updateTable('mailboxes')
            .set((eb) => ({ uidnext: eb('uidnext', '+', 1), highest_modseq: m }))
            .where('id', '=', id)
            .where('account_id', '=', accountId)
            .returning('uidnext')
            .executeTakeFirst();
          if (!box) throw new FingerpostError('not_found', `mailbox ${id} does not exist`);
          await trx
            .insertInto('mailbox_messages')
            .values({ mailbox_id: id, uid: box.uidnext - 1, message_id: messageId, modseq: m, saved_at: this.#now() })
            .execute();
          touched.add(id);
        }
        for (const r of remove) {
          await trx.deleteFrom('mailbox_messages').where('mailbox_id', '=', r.mailbox_id).where('uid', '=', r.uid).execute();
          await trx.insertInto('expunged').values({ mailbox_id: r.mailbox_id, uid: r.uid, modseq: m }).execute();
          await this.#touchMailbox(trx, r.mailbox_id, m);
          touched.add(r.mailbox_id);
        }
        await trx.updateTable('messages').set({ modseq: m }).where('id', '=', messageId).execute();
        await trx.updateTable('mailbox_messages').set({ modseq: m }).where('message_id', '=', messageId).execute();
        await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'updated');
      },
      ['Email', 'Mailbox', 'Thread'],
      touched,
    );
  }

  /**
   * Sets the keywords of one message (JMAP Email/set `keywords`). With `viewer` (an account other
   * than the owner, on a shared account) `$seen` is that account's own (RFC 4314 §4).
   */
  async setKeywords(accountId: number, messageId: number, keywords: readonly string[], viewer?: number): Promise<void> {
    const reader = viewer !== undefined && viewer !== accountId ? viewer : undefined;
    let text = keywordsToText(keywords);
    if (keywords.some((k) => !validKeyword(k.toLowerCase()))) throw new FingerpostError('invalid_argument', 'invalid keyword');
    const touched = new Set<number>();
    await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        const row = await trx
          .selectFrom('messages')
          .select('keywords')
          .where('id', '=', messageId)
          .where('account_id', '=', accountId)
          .executeTakeFirst();
        if (!row) throw new FingerpostError('not_found', `message ${messageId} does not exist`);
        let seenChanged = false;
        if (reader !== undefined) {
          const seen = text.split(' ').includes('$seen');
          seenChanged = (await seenBy(trx, reader, [messageId])).has(messageId) !== seen;
          text = keywordsToText(withSeen(keywordsFromText(text), keywordsFromText(row.keywords).includes('$seen')));
          if (seenChanged) await setSeenBy(trx, reader, messageId, seen);
        }
        if (row.keywords === text && !seenChanged) return;
        await this.#rememberKeywordNames(trx, accountId, keywords);
        const m = await nextModseq();
        await trx.updateTable('messages').set({ keywords: text, modseq: m }).where('id', '=', messageId).execute();
        await trx.updateTable('mailbox_messages').set({ modseq: m }).where('message_id', '=', messageId).execute();
        const boxes = await trx.selectFrom('mailbox_messages').select('mailbox_id').where('message_id', '=', messageId).execute();
        for (const b of boxes) {
          await this.#touchMailbox(trx, b.mailbox_id, m);
          touched.add(b.mailbox_id);
        }
        await this.#uow.logChange(trx, accountId, m, 'Email', messageId, 'updated');
      },
      ['Email', 'Mailbox'],
      touched,
    );
  }

  /** Destroys messages everywhere (JMAP Email/set destroy). Returns the ids that existed. */
  async destroyMessages(accountId: number, messageIds: readonly number[]): Promise<number[]> {
    const done: number[] = [];
    const touched = new Set<number>();
    let freed = 0;
    await this.#uow.run(
      accountId,
      async (trx, nextModseq) => {
        let m = 0;
        for (const id of messageIds) {
          const msg = await trx
            .selectFrom('messages')
            .select(['id', 'thread_id', 'size'])
            .where('id', '=', id)
            .where('account_id', '=', accountId)
            .executeTakeFirst();
          if (!msg) continue;
          freed += Number(msg.size);
          m ||= await nextModseq();
          const members = await trx.selectFrom('mailbox_messages').select(['mailbox_id', 'uid']).where('message_id', '=', id).execute();
          for (const mm of members) {
            await trx.insertInto('expunged').values({ mailbox_id: mm.mailbox_id, uid: mm.uid, modseq: m }).execute();
            await this.#touchMailbox(trx, mm.mailbox_id, m);
            touched.add(mm.mailbox_id);
          }
          await trx.deleteFrom('messages').where('id', '=', id).execute();
          await this.#uow.logChange(trx, accountId, m, 'Email', id, 'destroyed');
          await this.#uow.logChange(trx, accountId, m, 'Thread', msg.thread_id, 'updated');
          done.push(id);
        }
        if (m) await this.#quotas.addUsage(trx, accountId, m, -freed);
      },
      ['Email', 'Mailbox', 'Thread'],
      touched,
    );
    return done;
  }

  // ---------------------------------------------------------------- JMAP state and changes

  /** The state of one JMAP type: the MODSEQ of its latest change (src/mail/change-log.ts). */
  typeState(accountId: number, type: string): Promise<number> {
    return this.changeLog.typeState(accountId, type);
  }

  /** Objects of `type` changed after `sinceState` (RFC 8620 §5.2; src/mail/change-log.ts). */
  changesSince(accountId: number, type: string, sinceState: number, maxChanges = 5000): Promise<ObjectChanges> {
    return this.changeLog.changesSince(accountId, type, sinceState, maxChanges);
  }

  /** Message ids of a thread in received order (JMAP Thread/get). */
  async threadMessages(accountId: number, threadId: number): Promise<number[]> {
    const rows = await this.#db.kysely
      .selectFrom('messages')
      .select('id')
      .where('account_id', '=', accountId)
      .where('thread_id', '=', threadId)
      .orderBy('received_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** The decoded, lower-cased header text of messages (IMAP SEARCH by header), without their bodies. */
  headerTexts(messageIds: readonly number[], words?: readonly string[]): Promise<Map<number, string>> {
    return this.#text.headerTexts(messageIds, words);
  }

  /** Searchable text of messages (decoded headers and body). */
  searchText(messageIds: readonly number[]): Promise<Map<number, { headers: string; body: string }>> {
    return this.#text.texts(messageIds);
  }

  /** Ids of the account's messages whose headers or body contain `needle`, case-insensitively (RFC 9051 §6.4.4). */
  textMatches(accountId: number, needle: string, where: 'headers' | 'body' | 'both'): Promise<Set<number>> {
    return this.#text.textMatches(accountId, needle, where);
  }

  /** Drops change-log and expunge records older than `beforeModseq` for an account (housekeeping). */
  async pruneHistory(accountId: number, beforeModseq: number): Promise<void> {
    await this.#db.kysely.deleteFrom('changes').where('account_id', '=', accountId).where('modseq', '<', beforeModseq).execute();
  }
}
