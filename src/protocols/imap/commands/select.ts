import { fetchOpen } from '../uid-only.ts';
import { mailboxObjectId } from '../../../mail/object-ids.ts';
import { SIGNED_IN, userOf } from '../state.ts';
import { bad, type CommandContext, command, no, ok } from '../context.ts';
import { isSystemKeyword } from '../flags.ts';
import { flagsResponses, messageFlags } from '../keyword-flags.ts';
import { DELIMITER, listAttributes, parentNames } from '../mailboxes.ts';
import { SelectedMailbox } from '../selected.ts';
import { readOnlyFor, refuseWithout } from '../acl-checks.ts';
import { packedForReader, readerOf } from '../private-seen.ts';
import { resolveMailbox } from '../shared-mailboxes.ts';
import { formatSequenceSet, inRanges, resolveRanges } from '../wire/sequence.ts';
import type { QresyncParams } from '../wire/types.ts';

/** QRESYNC (RFC 7162 §3.2.5): what changed since the client's last known MODSEQ, before the tagged OK. */
async function resync(ctx: CommandContext, box: SelectedMailbox, q: QresyncParams): Promise<void> {
  if (q.uidValidity !== box.uidValidity) return;
  const changes = await ctx.deps.mail.mailboxChanges(box.id, q.modseq);
  const known = q.knownUids && q.knownUids.kind === 'ranges' ? resolveRanges(q.knownUids, box.maxUid) : null;
  const vanished = changes.expunged.filter((uid) => !known || inRanges(known, uid));
  if (vanished.length) ctx.send(`* VANISHED (EARLIER) ${formatSequenceSet(vanished)}\r\n`);
  for (const e of changes.changed) {
    const seq = box.seqOf(e.uid);
    if (!seq) continue;
    const uid = ctx.uidOnly ? '' : `UID ${e.uid} `;
    ctx.send(`${fetchOpen(ctx.uidOnly, seq, e.uid)}${uid}FLAGS ${messageFlags(box, seq, !ctx.rev2)} MODSEQ (${box.modseqAt(seq)}))\r\n`);
  }
}

/**
 * SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with CONDSTORE/QRESYNC parameters (RFC 7162).
 * IMAP4rev2 clients get the LIST response; IMAP4rev1 clients RECENT and UNSEEN.
 */
export const select = command({
  names: ['SELECT', 'EXAMINE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    if (ctx.state.kind === 'selected') {
      ctx.send('* OK [CLOSED] Previous mailbox closed\r\n');
      ctx.setState({ kind: 'authenticated', user });
    }
    if (cmd.qresync && !ctx.qresync) return bad('ENABLE QRESYNC first', 'CLIENTBUG');
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const visible = name === null ? undefined : await resolveMailbox(ctx.deps, user, name);
    if (!visible) return no('No such mailbox', 'NONEXISTENT');
    const refused = refuseWithout(visible.rights, 'r', cmd.name);
    if (refused) return refused;
    const mailbox = visible.mailbox;
    if (cmd.condstore || cmd.qresync) ctx.useCondstore();
    const reader = readerOf(mailbox.accountId, user.accountId);
    const snapshot = await ctx.deps.snapshots.entries(mailbox);
    const entries = reader === undefined ? snapshot : await packedForReader(ctx.deps.mail, reader, mailbox.id, snapshot);
    const readOnly = cmd.name === 'EXAMINE' || readOnlyFor(visible.rights);
    const box = new SelectedMailbox(mailbox, entries, readOnly, mailbox.highestModseq, visible.rights, reader);
    ctx.setState({ kind: 'selected', user, mailbox: box });

    for (const kw of new Set(entries.keywords)) for (const k of kw) if (!isSystemKeyword(k)) box.shownKeywords.add(k);
    if (box.shownKeywords.size) box.names = await ctx.deps.mail.keywordNames(mailbox.accountId);
    ctx.send(flagsResponses(box));
    ctx.send(`* ${box.exists} EXISTS\r\n`);
    if (!ctx.rev2) {
      // IMAP4rev1 \Recent (RFC 3501 §2.3.2): SELECT claims the new messages, EXAMINE only looks.
      if (readOnly) box.addRecent(mailbox.firstRecentUid, box.maxUid + 1);
      else {
        const claimed = await ctx.deps.mail.claimRecent(mailbox.id, box.maxUid + 1);
        if (claimed) box.addRecent(claimed.from, claimed.to);
      }
      ctx.send(`* ${box.recent.size} RECENT\r\n`);
      const firstUnseen = entries.keywords.findIndex((kw) => !kw.includes('$seen'));
      if (firstUnseen >= 0) ctx.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen\r\n`);
    }
    ctx.send(`* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid\r\n`);
    ctx.send(`* OK [UIDNEXT ${mailbox.uidNext}] Predicted next UID\r\n`);
    ctx.send(`* OK [HIGHESTMODSEQ ${mailbox.highestModseq}] Highest\r\n`);
    ctx.send(`* OK [MAILBOXID (${mailboxObjectId(mailbox.id)})] Ok\r\n`);
    if (ctx.rev2) {
      const siblings = mailbox.accountId === user.accountId ? await ctx.deps.mail.listMailboxes(user.accountId) : [];
      const attrs = listAttributes(mailbox, parentNames(siblings), {
        subscribed: false,
        specialUse: true,
      });
      ctx.send(`* LIST (${attrs.join(' ')}) "${DELIMITER}" ${ctx.mailboxToWire(mailbox.name)}\r\n`);
    }
    if (cmd.qresync) await resync(ctx, box, cmd.qresync);
    return ok(`${cmd.name} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
  },
});
