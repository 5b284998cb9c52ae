import { parseAddress } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { AccountDirectory, AppPasswordInfo, AppPasswordUse, Directory, DirectoryAccount, DirectoryDomain } from './directory.ts';
import type { LdapDirectory } from './ldap/ldap.ts';
import type { SqlDirectory } from './sql.ts';

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * The directory of a mixed setup (`directory.ldap[].domains`, docs/configuration.md): the
 * domains of each LDAP source are read from it, every other domain from SQL. Domains themselves,
 * app passwords and the shadow rows of LDAP accounts are kept in SQL. The admin side works on
 * SQL domains; for an LDAP domain it refuses with a hint, except removing an account that LDAP
 * no longer has (the purge of its kept mail).
 */
export class RoutedDirectory implements AccountDirectory {
  readonly #sql: SqlDirectory;
  readonly #ldap: readonly LdapDirectory[];

  constructor(sql: SqlDirectory, ldap: readonly LdapDirectory[]) {
    this.#sql = sql;
    this.#ldap = ldap;
  }

  /** Adds the domain rows of every LDAP source that are not in the store yet (at start-up). */
  async ensureDomains(): Promise<void> {
    for (const source of this.#ldap)
      for (const domain of source.options.domains) if (!(await this.#sql.findDomain(domain))) await this.#sql.addDomain(domain);
  }

  /** The LDAP source serving `domain`, if any. */
  ldapFor(domain: string): LdapDirectory | undefined {
    return this.#ldap.find((l) => l.serves(domain));
  }

  #source(address: string): Directory {
    return this.ldapFor(domainOf(address)) ?? this.#sql;
  }

  findByAddress(address: string): Promise<DirectoryAccount | undefined> {
    return this.#source(address).findByAddress(address);
  }

  async findRecipient(address: string): Promise<DirectoryAccount | undefined> {
    const source = this.#source(address);
    if (source === this.#sql) return this.#sql.findRecipient(address);
    // postmaster@ an LDAP domain without such an entry: an admin account, as for SQL domains.
    return (await source.findByAddress(address)) ?? (await this.#sql.findRecipient(address));
  }

  async getAccount(id: number): Promise<DirectoryAccount | undefined> {
    const row = await this.#sql.getAccount(id);
    const ldap = row && this.ldapFor(row.domain);
    return ldap ? ldap.getAccount(id) : row;
  }

  findDomain(name: string): Promise<DirectoryDomain | undefined> {
    return this.#sql.findDomain(name);
  }

  listDomains(): Promise<DirectoryDomain[]> {
    return this.#sql.listDomains();
  }

  async addressesOf(accountId: number): Promise<string[]> {
    const row = await this.#sql.getAccount(accountId);
    const ldap = row && this.ldapFor(row.domain);
    return ldap ? ldap.addressesOf(accountId) : this.#sql.addressesOf(accountId);
  }

  verifyPassword(account: DirectoryAccount | undefined, password: string): Promise<boolean> {
    return (account ? this.#source(account.address) : this.#sql).verifyPassword(account, password);
  }

  // ---- administration: SQL domains only ----

  #refuse(address: string, what: string): void {
    const ldap = this.ldapFor(domainOf(address));
    if (ldap)
      throw new FingerpostError('conflict', `${what}: accounts of ${domainOf(address)} come from the LDAP directory ${ldap.options.name}`, {
        hint: 'make the change in the LDAP directory; it is seen here within directory.ldap.cache_ttl',
      });
  }

  async addDomain(name: string): Promise<DirectoryDomain> {
    return this.#sql.addDomain(name);
  }

  updateDomainSettings(name: string, patch: Record<string, unknown>): Promise<DirectoryDomain> {
    return this.#sql.updateDomainSettings(name, patch);
  }

  async removeDomain(name: string): Promise<void> {
    if (this.ldapFor(name))
      throw new FingerpostError('conflict', `domain ${name} is served by the LDAP directory ${this.ldapFor(name)!.options.name}`, {
        hint: 'take it out of directory.ldap.domains first',
      });
    return this.#sql.removeDomain(name);
  }

  async addAccount(input: { address: string; passwordHash: string | null; displayName?: string; isAdmin?: boolean }) {
    this.#refuse(input.address, 'cannot add an account');
    return this.#sql.addAccount(input);
  }

  listAccounts(domain?: string): Promise<DirectoryAccount[]> {
    return this.#sql.listAccounts(domain);
  }

  /** For an LDAP account: only once LDAP no longer has it, removing its kept mail and shadow. */
  async removeAccount(address: string): Promise<DirectoryAccount> {
    const ldap = this.ldapFor(domainOf(address));
    if (ldap && (await ldap.stillInLdap(parseAddress(address).normalized)))
      throw new FingerpostError('conflict', `${address} is still in the LDAP directory ${ldap.options.name}`, {
        hint: 'remove or disable the entry in LDAP; then this command removes the mail kept here',
      });
    return this.#sql.removeAccount(address);
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<DirectoryAccount> {
    this.#refuse(address, 'cannot set a password');
    return this.#sql.setPasswordHash(address, passwordHash);
  }

  async setDisabled(address: string, disabled: boolean): Promise<DirectoryAccount> {
    this.#refuse(address, 'cannot change whether the account is enabled');
    return this.#sql.setDisabled(address, disabled);
  }

  async addAlias(alias: string, target: string): Promise<void> {
    this.#refuse(alias, 'cannot add an alias');
    this.#refuse(target, 'cannot add an alias');
    return this.#sql.addAlias(alias, target);
  }

  removeAlias(alias: string): Promise<void> {
    return this.#sql.removeAlias(alias);
  }

  listAliases(): Promise<Array<{ alias: string; target: string }>> {
    return this.#sql.listAliases();
  }

  // ---- app passwords: in the store for every account; an LDAP account is provisioned first ----

  async createAppPassword(input: {
    address: string;
    name: string;
    protocols: readonly string[];
    secret: string;
    expiresAt: number | null;
  }) {
    await this.findByAddress(input.address);
    return this.#sql.createAppPassword(input);
  }

  async listAppPasswords(address: string): Promise<AppPasswordInfo[]> {
    return this.#sql.listAppPasswords(address);
  }

  findAppPasswordBySecret(secret: string): Promise<AppPasswordInfo | undefined> {
    return this.#sql.findAppPasswordBySecret(secret);
  }

  touchAppPassword(id: number, use?: AppPasswordUse): Promise<void> {
    return this.#sql.touchAppPassword(id, use);
  }

  revokeAppPassword(address: string, idOrName: string): Promise<AppPasswordInfo> {
    return this.#sql.revokeAppPassword(address, idOrName);
  }

  /** Closes every LDAP source's connections. */
  async close(): Promise<void> {
    for (const l of this.#ldap) await l.close();
  }
}
