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
  /** The argon2 PHC string of an account kept in SQL; null for accounts whose password lives elsewhere (LDAP). */
  readonly passwordHash: string | null;
  /** Sessions that authenticated before this time (epoch ms) are no longer valid. */
  readonly credentialsChangedAt: number;
  readonly createdAt: number;
  /**
   * The storage limit in octets (RFC 9208 §5.1 STORAGE) the directory sets, null for none;
   * absent when the directory does not manage quotas (the admin quota command does).
   */
  readonly quota?: number | null;
}

export interface DirectoryDomain {
  readonly id: number;
  readonly name: string;
  readonly createdAt: number;
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * Read side of an account source (SQL, LDAP, or both routed by domain): what every protocol, the
 * auth core and delivery use. Lookups that cannot reach the source throw (a temporary failure).
 */
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
  /**
   * Checks the account's password (a hash compare, or an LDAP bind); an unknown account (undefined)
   * is false after the same work as a wrong password, so the answer time names nobody.
   */
  verifyPassword(account: DirectoryAccount | undefined, password: string): Promise<boolean>;
}

/** Admin side: what only a writable directory (SQL) implements; a read-only source refuses with a hint. */
export interface WritableDirectory extends Directory {
  addDomain(name: string): Promise<DirectoryDomain>;
  updateDomainSettings(name: string, patch: Record<string, unknown>): Promise<DirectoryDomain>;
  removeDomain(name: string): Promise<void>;
  addAccount(input: { address: string; passwordHash: string | null; displayName?: string; isAdmin?: boolean }): Promise<DirectoryAccount>;
  listAccounts(domain?: string): Promise<DirectoryAccount[]>;
  removeAccount(address: string): Promise<DirectoryAccount>;
  setPasswordHash(address: string, passwordHash: string): Promise<DirectoryAccount>;
  setDisabled(address: string, disabled: boolean): Promise<DirectoryAccount>;
  addAlias(alias: string, target: string): Promise<void>;
  removeAlias(alias: string): Promise<void>;
  listAliases(): Promise<Array<{ alias: string; target: string }>>;
}

/** An app password as listed (never the secret). */
export interface AppPasswordInfo {
  readonly id: number;
  readonly accountId: number;
  readonly name: string;
  readonly protocols: readonly string[];
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  /** Client address and protocol of the latest use; null before the first (or before migration 090). */
  readonly lastUsedAddress: string | null;
  readonly lastUsedProtocol: string | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** Where an app password was used: the client address and the protocol. */
export interface AppPasswordUse {
  readonly remote: string;
  readonly protocol: string;
}

export const APP_PASSWORD_PROTOCOLS = ['imap', 'pop3', 'smtp', 'http', 'caldav', 'carddav'] as const;

/** App passwords: always kept in this server's store, whichever directory the account comes from. */
export interface AppPasswordStore {
  createAppPassword(input: {
    address: string;
    name: string;
    protocols: readonly string[];
    secret: string;
    expiresAt: number | null;
  }): Promise<AppPasswordInfo>;
  listAppPasswords(address: string): Promise<AppPasswordInfo[]>;
  /** Finds a live app password by its secret; the caller checks the account and protocol. */
  findAppPasswordBySecret(secret: string): Promise<AppPasswordInfo | undefined>;
  /** Records a use: the time, and where from when `use` is given. */
  touchAppPassword(id: number, use?: AppPasswordUse): Promise<void>;
  revokeAppPassword(address: string, idOrName: string): Promise<AppPasswordInfo>;
}

/** What the server wires: the read side, the admin side and app passwords together. */
export type AccountDirectory = WritableDirectory & AppPasswordStore;
