import { FingerpostError } from '../../core/errors.ts';
import type { Db } from '../../store/db.ts';
import type { MailStore } from '../store.ts';
import type { Mailbox } from '../types.ts';
import { ShareNotifications } from './notifications.ts';
import { ANYONE, effectiveRights, type IdentifierEntry, negativeOf } from './identifiers.ts';
import { ALL_RIGHTS, jmapRights } from './rights.ts';

/** An account as sharing names it: the IMAP ACL identifier is its address (RFC 4314 §2). */
export interface ShareAccount {
  readonly id: number;
  readonly address: string;
  readonly name: string;
  readonly domainId: number;
}

/** One grant on a mailbox (RFC 4314 §3.3 ACL response entry). */
export interface Grant {
  readonly grantee: ShareAccount;
  readonly rights: string;
}

/** A mailbox of another account the grantee may see, with the grantee's rights on it. */
export interface SharedMailbox {
  readonly owner: ShareAccount;
  readonly mailbox: Mailbox;
  readonly rights: string;
}

/**
 * The one grant model behind IMAP ACL (RFC 4314) and JMAP Sharing (RFC 9670): rights per mailbox
 * and grantee, between accounts of one domain. The owner always holds every right. A change is
 * logged as a Mailbox update in the owner's account (`myRights`, `shareWith`; the grantee's IMAP
 * and JMAP sessions watching it learn of it on every node) and as a ShareNotification in the
 * grantee's.
 */
export class SharingStore {
  readonly #db: Db;
  readonly #mail: MailStore;
  readonly #now: () => number;
  /** What grantees are told of changes to their rights (RFC 9670 §5). */
  readonly notifications: ShareNotifications;

  constructor(db: Db, mail: MailStore, now: () => number = Date.now) {
    this.#db = db;
    this.#mail = mail;
    this.#now = now;
    this.notifications = new ShareNotifications(db, (accountId, type, fn) => mail.writeLogged(accountId, type, fn));
  }

  #accounts() {
    return this.#db.kysely.selectFrom('accounts').select(['id', 'address', 'display_name', 'domain_id']).where('disabled', '=', 0);
  }

  /** An enabled account by id, or undefined. */
  async account(id: number): Promise<ShareAccount | undefined> {
    const row = await this.#accounts().where('id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  /** An enabled account by address (compared lower-case), or undefined. */
  async accountByAddress(address: string): Promise<ShareAccount | undefined> {
    const row = await this.#accounts().where('address', '=', address.toLowerCase()).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  /** The enabled accounts of a domain, by address: who can share with whom (RFC 9670 §2 Principals). */
  async domainAccounts(domainId: number): Promise<ShareAccount[]> {
    const rows = await this.#accounts().where('domain_id', '=', domainId).orderBy('address').execute();
    return rows.map(toAccount);
  }

  /**
   * `accountId`'s rights on `mailbox` (RFC 4314 §2): every right for its owner; for another account
   * of the owner's domain its grant and `anyone`'s, less the negative rights of `-anyone` and of
   * `-<its address>`; none for anyone else.
   */
  async rightsOf(accountId: number, mailbox: Pick<Mailbox, 'id' | 'accountId'>): Promise<string> {
    if (mailbox.accountId === accountId) return ALL_RIGHTS;
    const row = await this.#db.kysely
      .selectFrom('mail_acl')
      .select('rights')
      .where('mailbox_id', '=', mailbox.id)
      .where('grantee_id', '=', accountId)
      .executeTakeFirst();
    const entries = await this.identifierEntriesOn(mailbox.id);
    if (entries.length === 0) return row?.rights ?? '';
    const [me, owner] = [await this.account(accountId), await this.account(mailbox.accountId)];
    if (!me || !owner || me.domainId !== owner.domainId) return row?.rights ?? '';
    return effectiveRights(row?.rights ?? '', me.address, entries);
  }

  /** The `anyone` and negative entries on a mailbox (RFC 4314 §2), by identifier. */
  async identifierEntriesOn(mailboxId: number): Promise<IdentifierEntry[]> {
    return this.#db.kysely
      .selectFrom('mail_acl_identifiers')
      .select(['identifier', 'rights'])
      .where('mailbox_id', '=', mailboxId)
      .orderBy('identifier')
      .execute();
  }

  /** The grants on a mailbox, by grantee address (the owner's implicit rights are not among them). */
  async grantsOn(mailboxId: number): Promise<Grant[]> {
    const rows = await this.#db.kysely
      .selectFrom('mail_acl')
      .innerJoin('accounts', 'accounts.id', 'mail_acl.grantee_id')
      .select(['accounts.id', 'accounts.address', 'accounts.display_name', 'accounts.domain_id', 'mail_acl.rights'])
      .where('mail_acl.mailbox_id', '=', mailboxId)
      .orderBy('accounts.address')
      .execute();
    return rows.map((r) => ({ grantee: toAccount(r), rights: r.rights }));
  }

  /** The grants on every mailbox of an owner, by mailbox id (JMAP `shareWith`). */
  async grantsOfOwner(ownerId: number): Promise<Map<number, Grant[]>> {
    const rows = await this.#db.kysely
      .selectFrom('mail_acl')
      .innerJoin('accounts', 'accounts.id', 'mail_acl.grantee_id')
      .select(['mail_acl.mailbox_id', 'accounts.id', 'accounts.address', 'accounts.display_name', 'accounts.domain_id', 'mail_acl.rights'])
      .where('mail_acl.owner_id', '=', ownerId)
      .orderBy('accounts.address')
      .execute();
    const out = new Map<number, Grant[]>();
    for (const r of rows) {
      const list = out.get(r.mailbox_id) ?? [];
      list.push({ grantee: toAccount(r), rights: r.rights });
      out.set(r.mailbox_id, list);
    }
    return out;
  }

  /**
   * The owners who shared at least one mailbox with `granteeId` (JMAP `accounts`, RFC 9670 §1.4):
   * by a grant, or by `anyone` in the grantee's domain; with the grantee's rights on each.
   */
  async ownersSharingWith(granteeId: number): Promise<Array<{ owner: ShareAccount; rights: string[] }>> {
    const me = await this.account(granteeId);
    if (!me) return [];
    const direct = this.#db.kysely.selectFrom('mail_acl').select('owner_id').where('grantee_id', '=', granteeId);
    const anyone = this.#db.kysely.selectFrom('mail_acl_identifiers').select('owner_id').where('identifier', '=', ANYONE);
    const owners = await this.#accounts()
      .where((eb) => eb.or([eb('id', 'in', direct), eb.and([eb('id', 'in', anyone), eb('domain_id', '=', me.domainId)])]))
      .where('id', '!=', granteeId)
      .orderBy('address')
      .execute();
    const out: Array<{ owner: ShareAccount; rights: string[] }> = [];
    for (const row of owners) {
      const rights = [...(await this.sharedMailboxes(granteeId, row.id)).values()];
      if (rights.length > 0) out.push({ owner: toAccount(row), rights });
    }
    return out;
  }

  /** The mailboxes of `ownerId` that `granteeId` holds any right on, with those rights (RFC 4314 §2). */
  async sharedMailboxes(granteeId: number, ownerId: number): Promise<Map<number, string>> {
    const rows = await this.#db.kysely
      .selectFrom('mail_acl')
      .select(['mailbox_id', 'rights'])
      .where('grantee_id', '=', granteeId)
      .where('owner_id', '=', ownerId)
      .execute();
    const direct = new Map(rows.map((r) => [r.mailbox_id, r.rights]));
    const special = await this.#db.kysely
      .selectFrom('mail_acl_identifiers')
      .select(['mailbox_id', 'identifier', 'rights'])
      .where('owner_id', '=', ownerId)
      .execute();
    const [me, owner] = special.length > 0 ? [await this.account(granteeId), await this.account(ownerId)] : [undefined, undefined];
    const entries = new Map<number, IdentifierEntry[]>();
    if (me && owner && me.domainId === owner.domainId && me.id !== owner.id)
      for (const e of special) entries.set(e.mailbox_id, [...(entries.get(e.mailbox_id) ?? []), e]);
    const out = new Map<number, string>();
    for (const id of new Set([...direct.keys(), ...entries.keys()])) {
      const list = entries.get(id);
      const rights = list && me ? effectiveRights(direct.get(id) ?? '', me.address, list) : (direct.get(id) ?? '');
      if (rights !== '') out.set(id, rights);
    }
    return out;
  }

  /** Every mailbox of another account shared with `granteeId`, owners by address, mailboxes by name. */
  async sharedWith(granteeId: number): Promise<SharedMailbox[]> {
    const out: SharedMailbox[] = [];
    for (const { owner } of await this.ownersSharingWith(granteeId)) {
      const rights = await this.sharedMailboxes(granteeId, owner.id);
      for (const mailbox of await this.#mail.listMailboxes(owner.id)) {
        const r = rights.get(mailbox.id);
        if (r) out.push({ owner, mailbox, rights: r });
      }
    }
    return out;
  }

  /**
   * Sets (or with '' removes) `grantee`'s rights on `mailbox`, as `actor` (RFC 4314 §3.1, §3.2;
   * RFC 9670 §4 `shareWith`). The actor needs the `a` right; the grantee must be another account
   * of the owner's domain. Logs the owner's Mailbox change and the grantee's ShareNotification.
   */
  async setRights(actor: ShareAccount, mailbox: Mailbox, grantee: ShareAccount, rights: string): Promise<void> {
    if (!(await this.rightsOf(actor.id, mailbox)).includes('a'))
      throw new FingerpostError('forbidden', 'the a right is needed to change rights');
    if (grantee.id === mailbox.accountId) throw new FingerpostError('invalid_argument', "the owner's rights cannot be changed");
    const owner = await this.account(mailbox.accountId);
    if (!owner || owner.domainId !== grantee.domainId)
      throw new FingerpostError('invalid_argument', 'rights can be given to accounts of the same domain only');
    const now = this.#now();
    const old = await this.#mail.writeLogged(owner.id, 'Mailbox', async (trx) => {
      const before = await trx
        .selectFrom('mail_acl')
        .select('rights')
        .where('mailbox_id', '=', mailbox.id)
        .where('grantee_id', '=', grantee.id)
        .executeTakeFirst();
      const was = before?.rights ?? '';
      if (was === rights) return { value: was, changes: [] };
      if (rights === '')
        await trx.deleteFrom('mail_acl').where('mailbox_id', '=', mailbox.id).where('grantee_id', '=', grantee.id).execute();
      else
        await trx
          .insertInto('mail_acl')
          .values({ mailbox_id: mailbox.id, grantee_id: grantee.id, owner_id: owner.id, rights, updated_at: now })
          .onConflict((oc) => oc.columns(['mailbox_id', 'grantee_id']).doUpdateSet({ rights, updated_at: now }))
          .execute();
      return { value: was, changes: [{ id: mailbox.id, kind: 'updated' as const }] };
    });
    if (old === rights) return;
    await this.#mail.writeLogged(grantee.id, 'ShareNotification', async (trx) => {
      const row = await trx
        .insertInto('share_notifications')
        .values({
          account_id: grantee.id,
          created_at: now,
          changed_by_id: actor.id,
          changed_by_name: actor.name,
          changed_by_email: actor.address,
          object_type: 'Mailbox',
          object_account_id: owner.id,
          object_id: mailbox.id,
          old_rights: old === '' ? null : JSON.stringify(jmapRights(old)),
          new_rights: rights === '' ? null : JSON.stringify(jmapRights(rights)),
          name: mailbox.name,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { value: undefined, changes: [{ id: row.id, kind: 'created' as const }] };
    });
  }

  /**
   * Sets (or with '' removes) the rights of `anyone`, `-anyone` or `-<address>` on `mailbox`, as
   * `actor` (RFC 4314 §3.1, §3.2), who needs the `a` right. Logged as a Mailbox update in the
   * owner's account, so every session watching it re-reads its rights.
   */
  async setIdentifierRights(actor: ShareAccount, mailbox: Mailbox, identifier: string, rights: string): Promise<void> {
    if (!(await this.rightsOf(actor.id, mailbox)).includes('a'))
      throw new FingerpostError('forbidden', 'the a right is needed to change rights');
    const negated = negativeOf(identifier);
    if (identifier !== ANYONE && negated === null) throw new FingerpostError('invalid_argument', 'not an identifier');
    const owner = await this.account(mailbox.accountId);
    if (!owner) throw new FingerpostError('not_found', 'no such mailbox');
    if (negated !== null && negated !== ANYONE) {
      const grantee = await this.accountByAddress(negated);
      if (!grantee || grantee.domainId !== owner.domainId)
        throw new FingerpostError('invalid_argument', 'rights can be given to accounts of the same domain only');
      if (grantee.id === owner.id) throw new FingerpostError('invalid_argument', "the owner's rights cannot be changed");
    }
    const key = negated !== null && negated !== ANYONE ? `-${negated.toLowerCase()}` : identifier;
    const now = this.#now();
    await this.#mail.writeLogged(owner.id, 'Mailbox', async (trx) => {
      const before = await trx
        .selectFrom('mail_acl_identifiers')
        .select('rights')
        .where('mailbox_id', '=', mailbox.id)
        .where('identifier', '=', key)
        .executeTakeFirst();
      if ((before?.rights ?? '') === rights) return { value: undefined, changes: [] };
      if (rights === '')
        await trx.deleteFrom('mail_acl_identifiers').where('mailbox_id', '=', mailbox.id).where('identifier', '=', key).execute();
      else
        await trx
          .insertInto('mail_acl_identifiers')
          .values({ mailbox_id: mailbox.id, owner_id: owner.id, identifier: key, rights, updated_at: now })
          .onConflict((oc) => oc.columns(['mailbox_id', 'identifier']).doUpdateSet({ rights, updated_at: now }))
          .execute();
      return { value: undefined, changes: [{ id: mailbox.id, kind: 'updated' as const }] };
    });
  }
}

function toAccount(r: { id: number; address: string; display_name: string; domain_id: number }): ShareAccount {
  return { id: r.id, address: r.address, name: r.display_name, domainId: r.domain_id };
}
