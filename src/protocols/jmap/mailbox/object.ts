import type { Mailbox } from '../../../mail/types.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { toId } from '../ids.ts';
import { hasRights, jmapRights } from '../../../mail/sharing/rights.ts';
import { shareWithValue } from '../sharing/share-with.ts';
import type { SharedAccess } from '../sharing/shared-mail.ts';

/** Mailbox properties (RFC 8621 §2). */
export const MAILBOX_PROPERTIES = [
  'id',
  'name',
  'parentId',
  'role',
  'sortOrder',
  'totalEmails',
  'unreadEmails',
  'totalThreads',
  'unreadThreads',
  'myRights',
  'isSubscribed',
  'shareWith',
] as const;

export const COUNT_PROPERTIES = ['totalEmails', 'unreadEmails', 'totalThreads', 'unreadThreads'] as const;

/** Roles a client may set (RFC 8621 §2, the IANA "IMAP Mailbox Name Attributes" registry, lower-case). */
export const ROLES = new Set([
  'inbox',
  'drafts',
  'sent',
  'trash',
  'junk',
  'archive',
  'all',
  'flagged',
  'important',
  'snoozed',
  'scheduled',
  'memos',
]);

const DELIMITER = '/';

/** The last segment of a hierarchical store name (the JMAP `name`). */
export function leafName(full: string): string {
  return full.slice(full.lastIndexOf(DELIMITER) + 1);
}

/** The store name of the parent, or null for a top-level mailbox. */
export function parentName(full: string): string | null {
  const i = full.lastIndexOf(DELIMITER);
  return i < 0 ? null : full.slice(0, i);
}

/** The full store name of a mailbox called `name` under `parent` (null: top level). */
export function fullName(parent: Mailbox | null, name: string): string {
  return parent ? `${parent.name}${DELIMITER}${name}` : name;
}

/** Everyone owns their own mailboxes: full rights, except that a role mailbox cannot be deleted here. */
function rights(mailbox: Mailbox): JsonObject {
  return {
    mayReadItems: true,
    mayAddItems: true,
    mayRemoveItems: true,
    maySetSeen: true,
    maySetKeywords: true,
    mayCreateChild: true,
    mayRename: mailbox.name !== 'INBOX',
    mayDelete: mailbox.name !== 'INBOX',
    maySubmit: true,
  };
}

/**
 * The JMAP Mailbox objects of an account (RFC 8621 §2), with counts only for the ids in
 * `withCounts` (true: all), since they cost a pass over the mailbox's messages. In an account
 * shared with the caller (`shared`, RFC 9670 §1.4): only the mailboxes the grant lets them see
 * (`l`), `myRights` from the grant, a parent they cannot see shown as null, no `shareWith`.
 */
export async function mailboxObjects(
  services: JmapServices,
  accountId: number,
  withCounts: boolean | ReadonlySet<string>,
  shared?: SharedAccess,
): Promise<Map<string, JsonObject>> {
  const all = await services.mail.listMailboxes(accountId);
  const visible = (b: Mailbox) => !shared || hasRights(shared.rights.get(b.id) ?? '', 'l');
  const boxes = all.filter(visible);
  const grants = shared ? new Map() : await services.mail.sharing.grantsOfOwner(accountId);
  const byName = new Map(boxes.map((b) => [b.name, b]));
  const out = new Map<string, JsonObject>();
  for (const b of boxes) {
    const parent = parentName(b.name);
    const parentBox = parent === null ? undefined : byName.get(parent);
    const object: JsonObject = {
      id: toId('mailbox', b.id),
      name: leafName(b.name),
      parentId: parentBox ? toId('mailbox', parentBox.id) : null,
      role: b.role,
      sortOrder: b.sortOrder,
      myRights: shared ? (jmapRights(shared.rights.get(b.id) ?? '') as unknown as JsonObject) : rights(b),
      isSubscribed: b.subscribed,
      shareWith: shared ? null : shareWithValue(grants.get(b.id)),
    };
    if (withCounts === true || (withCounts !== false && withCounts.has(toId('mailbox', b.id)))) {
      const c = await services.mail.mailboxCounts(b.id, shared?.readerId);
      object['totalEmails'] = c.messages;
      object['unreadEmails'] = c.unseen;
      object['totalThreads'] = c.threads;
      object['unreadThreads'] = c.unreadThreads;
    }
    out.set(toId('mailbox', b.id), object);
  }
  return out;
}
