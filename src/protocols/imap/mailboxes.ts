import type { Mailbox } from '../../mail/types.ts';
import { decodeMutf7 } from './wire/mutf7.ts';
import type { Command } from './wire/types.ts';

/** Mailbox names, LIST attributes and special use (RFC 9051 §5.1, §6.3.9; RFC 6154). */

export const DELIMITER = '/';

/**
 * A mailbox name from the wire as the store names it: UTF-8 for IMAP4rev2 clients, modified UTF-7
 * otherwise (a name with raw 8-bit characters is taken as UTF-8 either way). Null when invalid.
 */
export function nameFromWire(name: string, utf8: boolean): string | null {
  if (utf8 || /[^\x00-\x7f]/.test(name)) return name;
  return decodeMutf7(name);
}

/** Every mailbox name and pattern a command carries, as sent. */
function mailboxArguments(cmd: Command): readonly string[] {
  switch (cmd.name) {
    case 'SELECT':
    case 'EXAMINE':
    case 'CREATE':
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'STATUS':
    case 'GETQUOTAROOT':
    case 'SETACL':
    case 'DELETEACL':
    case 'GETACL':
    case 'LISTRIGHTS':
    case 'MYRIGHTS':
    case 'APPEND':
    case 'COPY':
    case 'MOVE':
      return [cmd.mailbox];
    case 'RENAME':
      return [cmd.from, cmd.to];
    case 'LIST':
      return [cmd.reference, ...cmd.patterns];
    case 'LSUB':
      return [cmd.reference, cmd.pattern];
    case 'NOTIFY':
      return (cmd.set?.groups ?? []).flatMap((g) => ('mailboxes' in g.filter ? g.filter.mailboxes : []));
    default:
      return [];
  }
}

/**
 * True when a command names a mailbox the client cannot mean: invalid modified UTF-7 from an
 * IMAP4rev1 client (RFC 3501 §5.1.3). Invalid UTF-8 never gets this far (the parser refuses it).
 */
export function hasInvalidMailboxName(cmd: Command, utf8: boolean): boolean {
  return mailboxArguments(cmd).some((name) => nameFromWire(name, utf8) === null);
}

const ROLE_TO_USE: Readonly<Record<string, string>> = {
  drafts: '\\Drafts',
  sent: '\\Sent',
  archive: '\\Archive',
  junk: '\\Junk',
  trash: '\\Trash',
  all: '\\All',
  flagged: '\\Flagged',
  important: '\\Important',
};

/** The RFC 6154 attribute for a JMAP role, or null (INBOX has none). */
export function specialUse(role: string | null): string | null {
  return role ? (ROLE_TO_USE[role] ?? null) : null;
}

/** The JMAP role for an RFC 6154 attribute (CREATE … (USE (\Sent))), or undefined when unknown. */
export function roleOf(attribute: string): string | undefined {
  const lower = attribute.toLowerCase();
  for (const [role, use] of Object.entries(ROLE_TO_USE)) if (use.toLowerCase() === lower) return role;
  return undefined;
}

/** Every name that has a child mailbox (for \HasChildren), computed once per LIST. */
export function parentNames(all: readonly Mailbox[]): Set<string> {
  const parents = new Set<string>();
  for (const m of all) {
    let at = m.name.lastIndexOf(DELIMITER);
    while (at > 0) {
      const parent = m.name.slice(0, at);
      if (parents.has(parent)) break;
      parents.add(parent);
      at = parent.lastIndexOf(DELIMITER);
    }
  }
  return parents;
}

/** The proper ancestors of a name, nearest first (`a/b/c` → `a/b`, `a`). */
export function ancestors(name: string): string[] {
  const out: string[] = [];
  for (let at = name.lastIndexOf(DELIMITER); at > 0; at = name.lastIndexOf(DELIMITER, at - 1)) out.push(name.slice(0, at));
  return out;
}

/** Names in LIST order: existing mailboxes as the store orders them, then other names alphabetically. */
export function listOrder(names: Iterable<string>, all: readonly Mailbox[]): string[] {
  const rank = new Map(all.map((m, i) => [m.name, i]));
  return [...new Set(names)].sort((a, b) => {
    const ra = rank.get(a);
    const rb = rank.get(b);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return -1;
    if (rb !== undefined) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** The attributes a LIST response shows for an existing mailbox (children, special use, subscription). */
export function listAttributes(
  mailbox: Mailbox,
  parents: ReadonlySet<string>,
  options: { subscribed: boolean; specialUse: boolean },
): string[] {
  const attrs: string[] = [];
  attrs.push(parents.has(mailbox.name) ? '\\HasChildren' : '\\HasNoChildren');
  const use = specialUse(mailbox.role);
  if (use && options.specialUse) attrs.push(use);
  if (options.subscribed && mailbox.subscribed) attrs.push('\\Subscribed');
  return attrs;
}
