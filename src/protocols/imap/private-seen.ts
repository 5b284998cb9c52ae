import { withSeen } from '../../mail/private-seen.ts';
import type { MailboxEntry } from '../../mail/types.ts';
import type { ImapMailView } from '../../mail/views.ts';
import { internKeywords } from './flags.ts';
import type { PackedEntries } from './selected.ts';

/**
 * Per-user \Seen in a mailbox shared by another account (RFC 4314 §4 "s"): the store's entries
 * carry the owner's keywords; a reader who is not the owner sees them with `$seen` replaced by
 * its own. The shared snapshots and change feeds stay the owner's; each reader's session maps
 * what it takes from them.
 */

/** The account whose own \Seen a session of `userAccountId` uses in a mailbox of `ownerId`: undefined for the owner. */
export function readerOf(ownerId: number, userAccountId: number): number | undefined {
  return ownerId === userAccountId ? undefined : userAccountId;
}

/** Packed entries of a shared mailbox as `reader` sees them (a new copy; the shared one is left alone). */
export async function packedForReader(
  mail: Pick<ImapMailView, 'seenIn'>,
  reader: number,
  mailboxId: number,
  packed: PackedEntries,
): Promise<PackedEntries> {
  const read = await mail.seenIn(reader, mailboxId);
  const keywords = packed.keywords.map((kw, i) => internKeywords(withSeen(kw, read.has(packed.messageIds[i]!))));
  return { ...packed, keywords };
}

/** Store entries (changed since some MODSEQ) as `reader` sees them; unchanged when there is no reader. */
export async function entriesForReader(
  mail: Pick<ImapMailView, 'seenBy'>,
  reader: number | undefined,
  entries: readonly MailboxEntry[],
): Promise<readonly MailboxEntry[]> {
  if (reader === undefined || !entries.length) return entries;
  const read = await mail.seenBy(
    reader,
    entries.map((e) => e.messageId),
  );
  return entries.map((e) => ({ ...e, keywords: withSeen(e.keywords, read.has(e.messageId)) }));
}

/**
 * APPEND (and REPLACE) by `reader` into another account's mailbox: `\Seen` is taken out of the
 * stored keywords and set as the reader's own once the messages have UIDs (RFC 4314 §4).
 */
export function seenApart<T extends { readonly keywords?: readonly string[] }>(
  reader: number | undefined,
  items: readonly T[],
): { items: T[]; seen: boolean[] } {
  if (reader === undefined) return { items: [...items], seen: items.map(() => false) };
  const isSeen = (k: string) => k.toLowerCase() === '$seen';
  return {
    items: items.map((i) => ({ ...i, keywords: (i.keywords ?? []).filter((k) => !isSeen(k)) })),
    seen: items.map((i) => (i.keywords ?? []).some(isSeen)),
  };
}

/** Sets `reader`'s own \Seen on the UIDs of a mailbox of `ownerId` (after `seenApart`). */
export async function markSeenBy(
  mail: Pick<ImapMailView, 'storeKeywords'>,
  reader: number | undefined,
  ownerId: number,
  mailboxId: number,
  uids: readonly number[],
): Promise<void> {
  if (reader === undefined || !uids.length) return;
  await mail.storeKeywords(ownerId, mailboxId, uids, 'add', ['$seen'], { viewer: reader });
}
