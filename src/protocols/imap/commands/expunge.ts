import { SELECTED } from '../state.ts';
import { type CommandContext, command, no, ok } from '../context.ts';
import { removeExpunged } from '../search-contexts.ts';
import type { SelectedMailbox } from '../selected.ts';
import { refuseWithout } from '../acl-checks.ts';
import { targetSeqs } from '../targets.ts';
import { formatSequenceSet } from '../wire/sequence.ts';

/**
 * Removes UIDs from the session's view and tells the client: EXPUNGE per message, or VANISHED with
 * QRESYNC (RFC 7162 §3.2.10) or UIDONLY (RFC 9586 §3.4). With `recentCount`, an IMAP4rev1 client
 * whose \Recent messages went with them hears the new count (RFC 3501 §7.3.2); without it an
 * EXISTS (and its RECENT) is about to follow.
 */
export function reportExpunged(ctx: CommandContext, box: SelectedMailbox, uids: readonly number[], recentCount = false): void {
  if (!uids.length) return;
  const recent = box.recent.size;
  // Live results lose the messages first, while their sequence numbers hold (RFC 5267 §4.3.4).
  const removals = removeExpunged(box, uids);
  if (removals) ctx.send(removals);
  const seqs = box.removeUids(uids);
  if (ctx.qresync || ctx.uidOnly) ctx.send(`* VANISHED ${formatSequenceSet(uids)}\r\n`);
  else ctx.send(seqs.map((s) => `* ${s} EXPUNGE\r\n`).join(''));
  if (recentCount && !ctx.rev2 && box.recent.size !== recent) ctx.send(`* ${box.recent.size} RECENT\r\n`);
}

/** EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1, part of RFC 9051): remove \Deleted messages. */
export const expunge = command({
  names: ['EXPUNGE', 'UID EXPUNGE'],
  states: SELECTED,
  async run(ctx, cmd) {
    if (ctx.state.kind !== 'selected') return ok('EXPUNGE completed');
    const box = ctx.state.mailbox;
    if (box.readOnly) return no('The mailbox is read-only', 'CANNOT');
    const refused = refuseWithout(box.rights, 'e', 'EXPUNGE');
    if (refused) return refused;
    const uids = cmd.name === 'UID EXPUNGE' ? targetSeqs(box, cmd.set, true).map((s) => box.uidAt(s)) : undefined;
    if (uids && uids.length === 0) return ok('EXPUNGE completed');
    const removed = await ctx.deps.mail.expunge(box.accountId, box.id, { onlyDeleted: true, ...(uids ? { uids } : {}) });
    reportExpunged(ctx, box, removed, true);
    if (!removed.length) return ok('EXPUNGE completed');
    // Catch the view up to the expunge's MODSEQ before the tagged OK names it (RFC 7162 §3.2.10).
    box.dirty = true;
    return { ...ok('EXPUNGE completed'), changedModseq: true };
  },
});
