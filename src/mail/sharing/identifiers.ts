import { canonical } from './rights.ts';

/**
 * ACL identifiers beyond one account (RFC 4314 §2): `anyone` (here: every account of the owner's
 * domain, the reach of sharing) and negative entries, `-anyone` and `-<address>`, whose rights are
 * taken away from what the positive entries give.
 */

/** The identifier that names every account that may be given rights (RFC 4314 §2). */
export const ANYONE = 'anyone';

/** One `anyone` or negative entry of a mailbox's ACL, as stored (`mail_acl_identifiers`). */
export interface IdentifierEntry {
  readonly identifier: string;
  readonly rights: string;
}

/** What a negative identifier negates (`-anyone` → `anyone`, `-bob@x` → `bob@x`), or null when not negative. */
export function negativeOf(identifier: string): string | null {
  if (!identifier.startsWith('-') || identifier.length < 2) return null;
  const rest = identifier.slice(1);
  return rest.toLowerCase() === ANYONE ? ANYONE : rest;
}

/**
 * An account's rights from its own grant and the identifier entries (RFC 4314 §2): the union of
 * the positive rights that apply to it (its grant, `anyone`) less the union of the negative ones
 * (`-anyone`, `-<its address>`).
 */
export function effectiveRights(own: string, address: string, entries: readonly IdentifierEntry[]): string {
  const me = address.toLowerCase();
  let positive = own;
  let negative = '';
  for (const e of entries) {
    if (e.identifier === ANYONE) positive += e.rights;
    else if (e.identifier === `-${ANYONE}` || e.identifier === `-${me}`) negative += e.rights;
  }
  return canonical([...positive].filter((r) => !negative.includes(r)));
}
