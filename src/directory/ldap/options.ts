/**
 * One LDAP account source as configured (`[[directory.ldap]]`, docs/configuration.md): the
 * servers and how to reach them, where accounts are and which attributes mean what.
 */
export interface LdapOptions {
  /** A name for logs and errors (`directory.ldap[N]` when not given). */
  readonly name: string;
  /** The mail domains whose accounts come from this source. */
  readonly domains: readonly string[];
  /** Servers in order of preference: ldaps:// (implicit TLS) or ldap:// with `startTls`. */
  readonly urls: readonly string[];
  /** Upgrade ldap:// connections with StartTLS (RFC 4511 §4.14) before any bind. */
  readonly startTls: boolean;
  /** PEM CA certificates trusted for the servers' certificates, besides the system's. */
  readonly ca?: string;
  /** The service account that searches (RFC 4513 §5.1.3 simple bind); empty: anonymous. */
  readonly bindDn: string;
  readonly bindPassword: string;
  /** Where accounts are searched (subtree). */
  readonly baseDn: string;
  /** Which entries are mail accounts, e.g. `(objectClass=inetOrgPerson)`. */
  readonly userFilter: string;
  readonly mailAttribute: string;
  /** Attributes holding further addresses delivered to the account (e.g. `mailAlternateAddress`). */
  readonly aliasAttributes: readonly string[];
  readonly nameAttribute: string;
  /** Attribute with the storage limit in octets; empty: quotas are set with the admin command. */
  readonly quotaAttribute: string;
  /** Attribute whose value (case-insensitive) in `disabledValues` disables the account; empty: none. */
  readonly statusAttribute: string;
  readonly disabledValues: readonly string[];
  /** Members of this group (by `groupMemberAttribute` = the account's DN) are administrators. */
  readonly adminGroupDn: string;
  readonly groupMemberAttribute: string;
  /** Connections kept per server for searches. */
  readonly poolSize: number;
  /** Longest wait for a connection, a bind or a search before the server counts as down (ms). */
  readonly timeoutMs: number;
  /** How long a server that failed is skipped before it is tried again (ms). */
  readonly retryMs: number;
  /** How long a looked-up entry (or its absence) is used before LDAP is asked again (ms). */
  readonly cacheTtlMs: number;
  /** Entries kept in the cache at most. */
  readonly cacheSize: number;
}
