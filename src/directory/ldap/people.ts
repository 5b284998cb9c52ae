import { type Entry, NoSuchObjectError } from 'ldapts';
import { anyEquals, escapeFilterValue } from './filter.ts';
import type { LdapOptions } from './options.ts';
import { first, type LdapPool, values } from './pool.ts';

/** A mail account as one LDAP entry describes it. */
export interface LdapPerson {
  readonly dn: string;
  /** The primary address (lower-case): the account's address here. */
  readonly mail: string;
  /** Further addresses delivered to the account (lower-case). */
  readonly aliases: readonly string[];
  readonly displayName: string;
  /** Octets; null for no limit; undefined when the source has no quota attribute. */
  readonly quota: number | null | undefined;
  readonly disabled: boolean;
  readonly isAdmin: boolean;
}

/**
 * Finds accounts in one LDAP source: the entry under `baseDn` matching `userFilter` whose mail
 * or alias attribute equals the address (escaped, RFC 4515 §3), mapped through the configured
 * attributes; administrators are the members of `adminGroupDn`.
 */
export class LdapPeople {
  readonly #pool: LdapPool;
  readonly #o: LdapOptions;

  constructor(pool: LdapPool, options: LdapOptions) {
    this.#pool = pool;
    this.#o = options;
  }

  /** The one entry for `address`, or undefined when none (or, ambiguously, several) match. */
  async find(address: string): Promise<LdapPerson | undefined> {
    const o = this.#o;
    const attributes = [o.mailAttribute, o.nameAttribute, ...o.aliasAttributes, o.quotaAttribute, o.statusAttribute].filter(Boolean);
    const filter = `(&${o.userFilter}${anyEquals([o.mailAttribute, ...o.aliasAttributes], address)})`;
    const entries = await this.#pool.search(o.baseDn, { scope: 'sub', filter, attributes });
    if (entries.length !== 1) return undefined;
    return this.#person(entries[0]!);
  }

  async #person(entry: Entry): Promise<LdapPerson | undefined> {
    const o = this.#o;
    const mail = first(entry, o.mailAttribute)?.toLowerCase();
    if (!mail?.includes('@')) return undefined;
    const aliases = o.aliasAttributes.flatMap((a) => values(entry, a).map((v) => v.toLowerCase())).filter((a) => a !== mail);
    const status = o.statusAttribute ? first(entry, o.statusAttribute)?.toLowerCase() : undefined;
    return {
      dn: entry.dn,
      mail,
      aliases: [...new Set(aliases)],
      displayName: first(entry, o.nameAttribute) ?? '',
      quota: o.quotaAttribute ? quota(first(entry, o.quotaAttribute)) : undefined,
      disabled: status !== undefined && o.disabledValues.some((v) => v.toLowerCase() === status),
      isAdmin: await this.#inAdminGroup(entry.dn),
    };
  }

  async #inAdminGroup(dn: string): Promise<boolean> {
    if (!this.#o.adminGroupDn) return false;
    try {
      const hits = await this.#pool.search(this.#o.adminGroupDn, {
        scope: 'base',
        filter: `(${this.#o.groupMemberAttribute}=${escapeFilterValue(dn)})`,
        attributes: ['1.1'],
      });
      return hits.length > 0;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return false;
      throw err;
    }
  }
}

/** A quota attribute's value: whole octets; absent, empty, zero or unreadable is no limit. */
function quota(text: string | undefined): number | null {
  if (!text || !/^\d{1,15}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return n > 0 ? n : null;
}
