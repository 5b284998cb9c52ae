import { hasRights } from '../../mail/sharing/rights.ts';
import { no, type Tagged } from './context.ts';

/**
 * The rights IMAP commands need (RFC 4314 §4) and the refusal when they are missing: a tagged NO
 * with the NOPERM response code (RFC 5530 §3).
 */

/** NO [NOPERM] naming the rights that were missing, or null when `rights` holds `needed`. */
export function refuseWithout(rights: string, needed: string, what: string): Tagged | null {
  if (hasRights(rights, needed)) return null;
  return no(`${what} needs the ${[...needed].filter((r) => !rights.includes(r)).join('')} right`, 'NOPERM');
}

/**
 * The right a STORE of one keyword needs (RFC 4314 §4): `s` for \Seen, `t` for \Deleted, `w`
 * for every other flag.
 */
export function rightForKeyword(keyword: string): string {
  const k = keyword.toLowerCase();
  if (k === '$seen') return 's';
  if (k === '$deleted') return 't';
  return 'w';
}

/** The keywords of `keywords` that `rights` allows setting, as APPEND and COPY keep them (RFC 4314 §4). */
export function permittedKeywords(rights: string, keywords: readonly string[]): string[] {
  return keywords.filter((k) => rights.includes(rightForKeyword(k)));
}

/** The mailbox is read-only for a user with none of the rights that change it (RFC 4314 §4 SELECT). */
export function readOnlyFor(rights: string): boolean {
  return !/[swite]/.test(rights);
}
