import { isFingerpostError } from '../../core/errors.ts';
import type { Db } from '../../store/db.ts';
import { CREDENTIALS_CHANGED, publishEvent } from '../../store/events.ts';
import type { Directory, DirectoryAccount, DirectoryDomain } from '../directory.ts';
import type { SqlDirectory } from '../sql.ts';
import { ExpiringCache } from './cache.ts';
import type { LdapOptions } from './options.ts';
import { type LdapPerson, LdapPeople } from './people.ts';
import { LdapPool } from './pool.ts';

export interface LdapDirectoryDeps {
  readonly options: LdapOptions;
  /** Where each LDAP account's shadow row lives: its id for mail, app passwords and grants. */
  readonly sql: SqlDirectory;
  readonly db: Db;
  readonly now?: () => number;
  /**
   * Called with an account fresh from LDAP (`created` on its first sign-in or delivery): creates
   * its mailboxes and applies its quota (main.ts wires the mail store).
   */
  readonly onSync?: (account: DirectoryAccount, created: boolean) => Promise<void>;
}

/**
 * Accounts of some domains from an LDAP directory (docs/identity-providers/ldap.md). Each
 * account found is mirrored into a shadow row of the SQL store on first use (provisioning),
 * which holds its mail, app passwords and grants; name, admin role, enabled flag and quota follow
 * LDAP. Passwords are checked by binding as the entry. What LDAP says about an address is cached
 * for `cacheTtlMs`: a change there is seen here within that time. An entry gone from LDAP
 * disables its shadow (mail kept; `fingerpost admin user remove` purges it).
 */
export class LdapDirectory implements Directory {
  readonly options: LdapOptions;
  readonly #sql: SqlDirectory;
  readonly #db: Db;
  readonly #now: () => number;
  readonly #pool: LdapPool;
  readonly #people: LdapPeople;
  readonly #cache: ExpiringCache<string, LdapPerson | null>;
  readonly #onSync: (account: DirectoryAccount, created: boolean) => Promise<void>;
  readonly #domains: Set<string>;

  constructor(deps: LdapDirectoryDeps) {
    this.options = deps.options;
    this.#sql = deps.sql;
    this.#db = deps.db;
    this.#now = deps.now ?? Date.now;
    this.#pool = new LdapPool(deps.options, this.#now);
    this.#people = new LdapPeople(this.#pool, deps.options);
    this.#cache = new ExpiringCache(deps.options.cacheTtlMs, deps.options.cacheSize, this.#now);
    this.#onSync = deps.onSync ?? (async () => {});
    this.#domains = new Set(deps.options.domains.map((d) => d.toLowerCase()));
  }

  /** True when this source serves `domain`. */
  serves(domain: string): boolean {
    return this.#domains.has(domain.toLowerCase());
  }

  async findByAddress(address: string): Promise<DirectoryAccount | undefined> {
    const key = address.toLowerCase();
    if (!this.serves(key.slice(key.lastIndexOf('@') + 1))) return undefined;
    const { person, fresh } = await this.#lookup(key);
    // An entry whose own address is in a domain this source does not serve is no account here.
    if (!person || !this.serves(person.mail.slice(person.mail.lastIndexOf('@') + 1))) return undefined;
    return this.#shadow(person, fresh);
  }

  findRecipient(address: string): Promise<DirectoryAccount | undefined> {
    return this.findByAddress(address);
  }

  /**
   * The account by its shadow id, checked against LDAP (through the cache). While LDAP cannot be
   * reached the shadow's last known state answers, so sessions already open keep working.
   */
  async getAccount(id: number): Promise<DirectoryAccount | undefined> {
    const row = await this.#sql.getAccount(id);
    if (!row || !this.serves(row.domain)) return row;
    try {
      const { person, fresh } = await this.#lookup(row.address);
      if (person && person.mail === row.address) return await this.#shadow(person, fresh);
      return await this.#sql.getAccount(id);
    } catch (err) {
      if (isFingerpostError(err, 'unavailable')) return row;
      throw err;
    }
  }

  async findDomain(name: string): Promise<DirectoryDomain | undefined> {
    return this.serves(name) ? this.#sql.findDomain(name) : undefined;
  }

  async listDomains(): Promise<DirectoryDomain[]> {
    return (await this.#sql.listDomains()).filter((d) => this.serves(d.name));
  }

  async addressesOf(accountId: number): Promise<string[]> {
    const row = await this.#sql.getAccount(accountId);
    if (!row) return [];
    const { person } = await this.#lookup(row.address).catch(() => ({ person: null }));
    return person && person.mail === row.address ? [person.mail, ...person.aliases] : [row.address];
  }

  /** A bind as the account's entry (never reading a hash); an unknown account is false. */
  async verifyPassword(account: DirectoryAccount | undefined, password: string): Promise<boolean> {
    if (!account) return false;
    const { person } = await this.#lookup(account.address);
    if (!person) return false;
    return this.#pool.verify(person.dn, password);
  }

  /** Whether LDAP still has an entry for the shadow's address (asks LDAP, not the cache). */
  async stillInLdap(address: string): Promise<boolean> {
    this.#cache.delete(address.toLowerCase());
    const { person } = await this.#lookup(address.toLowerCase());
    return person !== null && person.mail === address.toLowerCase();
  }

  /** Closes the LDAP connections. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** The entry for an address from the cache, else from LDAP; an address LDAP no longer knows retires its shadow. */
  async #lookup(key: string): Promise<{ person: LdapPerson | null; fresh: boolean }> {
    const cached = this.#cache.get(key);
    if (cached) return { person: cached.value, fresh: false };
    const person = (await this.#people.find(key)) ?? null;
    this.#cache.set(key, person);
    for (const address of person ? [person.mail, ...person.aliases] : []) if (address !== key) this.#cache.set(address, person);
    if (!person) await this.#retire(key);
    return { person, fresh: true };
  }

  /** Disables the shadow of an address LDAP no longer has; its mail stays until an admin removes it. */
  async #retire(address: string): Promise<void> {
    const row = await this.#sql.findByAddress(address);
    if (!row || row.address !== address || row.disabled) return;
    await this.#sql.setDisabled(address, true);
    await publishEvent(this.#db, CREDENTIALS_CHANGED, { accountId: row.id, reason: 'removed from LDAP' }, this.#now());
  }

  /** The shadow row for a person, created on first use and brought in line with a fresh entry. */
  async #shadow(person: LdapPerson, fresh: boolean): Promise<DirectoryAccount | undefined> {
    let row = await this.#sql.findByAddress(person.mail);
    if (row && row.address !== person.mail) return undefined; // an SQL alias elsewhere claims the address
    let created = false;
    if (!row) {
      try {
        row = await this.#sql.addAccount({
          address: person.mail,
          passwordHash: null,
          displayName: person.displayName,
          isAdmin: person.isAdmin,
        });
        created = true;
      } catch (err) {
        // Two first sign-ins at once: the other one created it.
        if (!isFingerpostError(err, 'already_exists')) throw err;
        row = await this.#sql.findByAddress(person.mail);
        if (!row) throw err;
      }
    }
    if (fresh) {
      if (row.displayName !== person.displayName || row.isAdmin !== person.isAdmin)
        await this.#sql.updateAccount(row.id, { displayName: person.displayName, isAdmin: person.isAdmin });
      if (row.disabled !== person.disabled) {
        await this.#sql.setDisabled(row.address, person.disabled);
        if (person.disabled)
          await publishEvent(this.#db, CREDENTIALS_CHANGED, { accountId: row.id, reason: 'disabled in LDAP' }, this.#now());
      }
      row = (await this.#sql.getAccount(row.id)) ?? row;
    }
    const account: DirectoryAccount = { ...row, ...(person.quota !== undefined ? { quota: person.quota } : {}) };
    if (fresh) await this.#onSync(account, created);
    return account;
  }
}
