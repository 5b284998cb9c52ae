import type { Mailbox } from '../../mail/types.ts';
import { ALL_RIGHTS } from '../../mail/sharing/rights.ts';
import type { ImapDeps } from './context.ts';
import { ancestors, DELIMITER } from './mailboxes.ts';
import type { SignedIn } from './state.ts';

/**
 * The "Other Users" namespace (RFC 2342 §5, RFC 4314 §1): another account's mailbox shared with
 * this one is named `Other Users/<owner address>/<owner's name>`, e.g.
 * `Other Users/bob@example.test/INBOX`. A mailbox the user holds neither `l` nor `r` on is not
 * revealed (RFC 4314 §4).
 */
export const OTHER_USERS = 'Other Users';

/** The NAMESPACE response (RFC 2342 §5): personal "" and the shared prefix, both with `/`. */
export const NAMESPACE_RESPONSE = `* NAMESPACE (("" "${DELIMITER}")) (("${OTHER_USERS}${DELIMITER}" "${DELIMITER}")) NIL\r\n`;

/** A mailbox as this session names it, with the session user's rights on it (RFC 4314 §2.1). */
export interface Visible {
  /** The mailbox with `name` as the session names it; `accountId` is its owner's. */
  readonly mailbox: Mailbox;
  readonly rights: string;
}

/** True for the shared namespace's root and everything under it. */
export function inSharedNamespace(name: string): boolean {
  return name === OTHER_USERS || name.startsWith(`${OTHER_USERS}${DELIMITER}`);
}

/** The name this session gives another account's mailbox. */
export function sharedName(ownerAddress: string, name: string): string {
  return `${OTHER_USERS}${DELIMITER}${ownerAddress}${DELIMITER}${name}`;
}

/** The owner address and owner's mailbox name of a shared name, or null. */
export function splitSharedName(name: string): { owner: string; name: string } | null {
  if (!name.startsWith(`${OTHER_USERS}${DELIMITER}`)) return null;
  const rest = name.slice(OTHER_USERS.length + 1);
  const at = rest.indexOf(DELIMITER);
  if (at <= 0 || at === rest.length - 1) return null;
  return { owner: rest.slice(0, at), name: rest.slice(at + 1) };
}

/** The mailbox a name means to `user` (own, or shared under Other Users) with their rights, or undefined. */
export async function resolveMailbox(deps: ImapDeps, user: SignedIn, name: string): Promise<Visible | undefined> {
  const shared = splitSharedName(name);
  if (!shared) {
    if (inSharedNamespace(name)) return undefined;
    const mailbox = await deps.mail.getMailbox(user.accountId, name);
    return mailbox && { mailbox, rights: ALL_RIGHTS };
  }
  const owner = await deps.mail.sharing.accountByAddress(shared.owner);
  if (!owner || owner.id === user.accountId) return undefined;
  const mailbox = await deps.mail.getMailbox(owner.id, shared.name);
  if (!mailbox) return undefined;
  const rights = await deps.mail.sharing.rightsOf(user.accountId, mailbox);
  if (!rights.includes('l') && !rights.includes('r')) return undefined;
  return { mailbox: { ...mailbox, name: sharedName(owner.address, mailbox.name) }, rights };
}

/** Every shared mailbox `user` may list (`l` right, RFC 4314 §4 LIST), named as this session names them. */
export async function sharedMailboxes(deps: ImapDeps, user: SignedIn): Promise<Visible[]> {
  const shared = await deps.mail.sharing.sharedWith(user.accountId);
  return shared
    .filter((s) => s.rights.includes('l'))
    .map((s) => ({ mailbox: { ...s.mailbox, name: sharedName(s.owner.address, s.mailbox.name) }, rights: s.rights }));
}

/**
 * The names above shared mailboxes (`Other Users`, `Other Users/<owner>`, parents not shared):
 * LIST shows those that are no shared mailbox themselves as `\\Noselect`.
 */
export function namespaceLevels(shared: readonly Mailbox[]): Set<string> {
  const out = new Set<string>();
  for (const m of shared) for (const a of ancestors(m.name)) out.add(a);
  return out;
}

/** LIST order with the shared namespace last and by name, so each level comes before what is under it. */
export function sharedLast(names: readonly string[]): string[] {
  const shared = names.filter(inSharedNamespace).sort();
  return [...names.filter((n) => !inSharedNamespace(n)), ...shared];
}
