import { copyToAccount } from '../../../mail/sharing/cross-copy.ts';
import { permittedKeywords, refuseWithout } from '../acl-checks.ts';
import { type CommandContext, command, no, ok, type Tagged } from '../context.ts';
import type { SelectedMailbox } from '../selected.ts';
import { resolveMailbox, type Visible } from '../shared-mailboxes.ts';
import { SELECTED } from '../state.ts';
import { targetSeqs } from '../targets.ts';
import { formatOrderedSet } from '../wire/sequence.ts';
import { reportExpunged } from './expunge.ts';

/** Copies UIDs of the selected mailbox into another account's mailbox; MOVE then expunges them here. */
async function copyAcross(
  ctx: CommandContext,
  box: SelectedMailbox,
  uids: readonly number[],
  target: Visible,
  move: boolean,
): Promise<{ uidValidity: number; pairs: Array<[number, number]> }> {
  const byId = new Map(
    (
      await ctx.deps.mail.getMessages(
        box.accountId,
        uids.map((u) => box.messageIdAt(box.seqOf(u)!)),
        box.reader,
      )
    ).map((m) => [m.id, m]),
  );
  const sources = uids.flatMap((u) => {
    const m = byId.get(box.messageIdAt(box.seqOf(u)!));
    return m ? [{ uid: u, message: m }] : [];
  });
  const copies = await copyToAccount(
    ctx.deps.mail,
    sources.map((s) => s.message),
    { accountId: target.mailbox.accountId, mailboxId: target.mailbox.id },
    (k) => permittedKeywords(target.rights, k),
  );
  if (move) await ctx.deps.mail.expunge(box.accountId, box.id, { uids: sources.map((s) => s.uid) });
  return { uidValidity: copies[0]?.uidValidity ?? target.mailbox.uidValidity, pairs: sources.map((s, i) => [s.uid, copies[i]!.uid]) };
}

/**
 * COPY and MOVE with their UID forms (RFC 9051 §6.4.7, §6.4.8; RFC 6851): COPYUID from UIDPLUS
 * (RFC 4315). MOVE sends COPYUID untagged, then the expunges, then the tagged OK; a MOVE into the
 * selected mailbox itself gives the messages new UIDs, which arrive as EXISTS before the OK.
 * Rights (RFC 4314 §4): `i` on the target, MOVE also `t` and `e` here; into another account's
 * mailbox the copies keep only the flags the target's rights allow setting.
 */
export const copy = command({
  names: ['COPY', 'MOVE'],
  states: SELECTED,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const { user, mailbox: box } = ctx.state;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const target = name === null ? undefined : await resolveMailbox(ctx.deps, user, name);
    if (!target) return no('No such mailbox', 'TRYCREATE');
    if (cmd.name === 'MOVE' && box.readOnly) return no('The mailbox is read-only', 'CANNOT');
    const refused = refuseWithout(target.rights, 'i', cmd.name) ?? (cmd.name === 'MOVE' ? refuseWithout(box.rights, 'te', 'MOVE') : null);
    if (refused) return refused;
    const uids = targetSeqs(box, cmd.set, cmd.uid).map((s) => box.uidAt(s));
    const verb = `${cmd.uid ? 'UID ' : ''}${cmd.name}`;
    if (!uids.length) return ok(`${verb} completed`);
    const move = cmd.name === 'MOVE';
    const r =
      target.mailbox.accountId !== box.accountId
        ? await copyAcross(ctx, box, uids, target, move)
        : move
          ? await ctx.deps.mail.move(box.accountId, box.id, uids, target.mailbox.id)
          : await ctx.deps.mail.copy(box.accountId, box.id, uids, target.mailbox.id);
    // A grantee's COPY within the owner's account: the copies carry its own \Seen too (RFC 4314 §4);
    // a MOVE keeps the message, and with it that \Seen.
    if (!move && box.reader !== undefined && target.mailbox.accountId === box.accountId && target.rights.includes('s')) {
      const seen = r.pairs.filter(([from]) => box.keywordsAt(box.seqOf(from)).includes('$seen')).map(([, to]) => to);
      if (seen.length) await ctx.deps.mail.storeKeywords(box.accountId, target.mailbox.id, seen, 'add', ['$seen'], { viewer: box.reader });
    }
    const code = r.pairs.length
      ? `COPYUID ${r.uidValidity} ${formatOrderedSet(r.pairs.map((p) => p[0]))} ${formatOrderedSet(r.pairs.map((p) => p[1]))}`
      : undefined;
    if (!move) return ok(`${verb} completed`, code);
    if (code) ctx.send(`* OK [${code}] Moved\r\n`);
    // Moved out, the session's \Recent messages went with them (RFC 3501 §7.3.2, as EXPUNGE); moved
    // into the selected mailbox, the EXISTS that follows carries the count.
    reportExpunged(
      ctx,
      box,
      r.pairs.map((p) => p[0]),
      target.mailbox.id !== box.id,
    );
    return ok(`${verb} completed`);
  },
});
