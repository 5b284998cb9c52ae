/** An account as the directory knows it: who it is, where it lives, its password hash. */
export interface DirectoryAccount {
  readonly id: number;
  /** Lower-cased canonical address. */
  readonly address: string;
  readonly localPart: string;
  readonly domain: string;
  readonly domainId: number;
  readonly displayName: string;
  readonly disabled: boolean;
  readonly isAdmin: boolean;
  readonly passwordHash: string | null;
  /** Sessions that authenticated before this time (epoch ms) are no longer valid. */
  readonly credentialsChangedAt: number;
  readonly createdAt: number;
}

export interface DirectoryDomain {
  readonly id: number;
  readonly name: string;
  readonly createdAt: number;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** Read side of an account source (SQL by default, LDAP later): what the auth core and delivery need. */
export interface Directory {
  /** Resolves an account's address or one of its aliases (case-insensitive). */
  findByAddress(address: string): Promise<DirectoryAccount | undefined>;
  /**
   * The account mail for `address` is delivered to: `findByAddress`, and for `postmaster@` a served
   * domain that no account or alias claims, an admin account (RFC 5321 §4.5.1: every domain has one).
   */
  findRecipient(address: string): Promise<DirectoryAccount | undefined>;
  getAccount(id: number): Promise<DirectoryAccount | undefined>;
  findDomain(name: string): Promise<DirectoryDomain | undefined>;
  listDomains(): Promise<DirectoryDomain[]>;
  /** Every address that delivers to the account: its own and its aliases. */
  addressesOf(accountId: number): Promise<string[]>;
}
