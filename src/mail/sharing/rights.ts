/**
 * IMAP ACL rights (RFC 4314 §2.1) and the JMAP Mailbox rights they map to (RFC 8621 §2). A rights
 * string is kept canonical: each letter of `lrswipkxtea` at most once, in that order.
 */

/** Every right this server knows, in canonical order (RFC 4314 §2.1). */
export const ALL_RIGHTS = 'lrswipkxtea';

/** The `RIGHTS=` capability value: the rights beyond RFC 2086 (RFC 4314 §2.1). */
export const RIGHTS_CAPABILITY = 'texk';

/**
 * The rights a string names, canonical, or null when it has a letter that is no right. The
 * obsolete virtual rights (RFC 4314 §2.1.1) are taken the way servers using `d` for DELETE do:
 * `c` is `k`, `d` is `x`, `t` and `e`.
 */
export function parseRights(text: string): string | null {
  const have = new Set<string>();
  for (const ch of text) {
    if (ch === 'c') have.add('k');
    else if (ch === 'd') for (const r of 'xte') have.add(r);
    else if (ALL_RIGHTS.includes(ch)) have.add(ch);
    else return null;
  }
  return canonical(have);
}

/** The canonical string of a set of right letters. */
export function canonical(letters: Iterable<string>): string {
  const have = new Set(letters);
  return [...ALL_RIGHTS].filter((r) => have.has(r)).join('');
}

/** `a` plus `b`, canonical. */
export function addRights(a: string, b: string): string {
  return canonical([...a, ...b]);
}

/** `a` less `b`, canonical. */
export function removeRights(a: string, b: string): string {
  return canonical([...a].filter((r) => !b.includes(r)));
}

/** True when `rights` holds every right in `needed`. */
export function hasRights(rights: string, needed: string): boolean {
  return [...needed].every((r) => rights.includes(r));
}

/**
 * Rights as ACL and MYRIGHTS responses show them: with `c` when `k` is there and `d` when any of
 * `x`, `t`, `e` is (RFC 4314 §2.1.1), so RFC 2086 clients read them right.
 */
export function showRights(rights: string): string {
  let out = rights;
  if (rights.includes('k')) out += 'c';
  if (/[xte]/.test(rights)) out += 'd';
  return out;
}

/** JMAP MailboxRights (RFC 8621 §2). */
export interface MailboxRights {
  readonly mayReadItems: boolean;
  readonly mayAddItems: boolean;
  readonly mayRemoveItems: boolean;
  readonly maySetSeen: boolean;
  readonly maySetKeywords: boolean;
  readonly mayCreateChild: boolean;
  readonly mayRename: boolean;
  readonly mayDelete: boolean;
  readonly maySubmit: boolean;
}

/** The JMAP property for each right it needs, as RFC 8621 §2 relates them to IMAP ACL letters. */
export const JMAP_RIGHTS: ReadonlyArray<readonly [keyof MailboxRights, string]> = [
  ['mayReadItems', 'lr'],
  ['mayAddItems', 'i'],
  ['mayRemoveItems', 'te'],
  ['maySetSeen', 's'],
  ['maySetKeywords', 'w'],
  ['mayCreateChild', 'k'],
  ['mayRename', 'x'],
  ['mayDelete', 'x'],
];

/**
 * A grantee's MailboxRights for IMAP rights (RFC 8621 §2). `maySubmit` has no ACL letter: only
 * the owner may send as the account, so a grantee never may.
 */
export function jmapRights(rights: string): MailboxRights {
  const out: Record<string, boolean> = {};
  for (const [name, letters] of JMAP_RIGHTS) out[name] = hasRights(rights, letters);
  out['maySubmit'] = false;
  return out as unknown as MailboxRights;
}

/**
 * The IMAP rights a JMAP MailboxRights object grants (RFC 8621 §2), keeping the rights JMAP
 * cannot express (`p`, `a`) from `kept`. Unknown or non-boolean members make it null.
 */
export function rightsFromJmap(value: unknown, kept = ''): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const letters = new Set<string>([...kept].filter((r) => r === 'p' || r === 'a'));
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'boolean') return null;
    if (k === 'maySubmit') continue;
    const entry = JMAP_RIGHTS.find(([name]) => name === k);
    if (!entry) return null;
    if (v) for (const r of entry[1]) letters.add(r);
  }
  return canonical(letters);
}
