import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { targetSeqs } from '../targets.ts';
import { formatOrderedSet } from '../wire/sequence.ts';
import { reportExpunged } from './expunge.ts';

/**
 * COPY and MOVE with their UID forms (RFC 9051 §6.4.7, §6.4.8; RFC 6851): COPYUID from UIDPLUS
 * (RFC 4315). MOVE sends COPYUID untagged, then the expunges, then the tagged OK; a MOVE into the
 * selected mailbox itself gives the messages new UIDs, which arrive as EXISTS before the OK.
 */
export const copy = command({
  names: ['COPY', 'MOVE'],
  states: SELECTED,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const { user, mailbox: box } = ctx.state;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const target = name === null ? undefined : await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!target) return no('No such mailbox', 'TRYCREATE');
    if (cmd.name === 'MOVE' && box.readOnly) return no('The mailbox is read-only', 'CANNOT');
    const uids = targetSeqs(box, cmd.set, cmd.uid).map((s) => box.uidAt(s));
    const verb = `${cmd.uid ? 'UID ' : ''}${cmd.name}`;
    if (!uids.length) return ok(`${verb} completed`);
    const r =
      cmd.name === 'MOVE'
        ? await ctx.deps.mail.move(user.accountId, box.id, uids, target.id)
        : await ctx.deps.mail.copy(user.accountId, box.id, uids, target.id);
    const code = r.pairs.length
      ? `COPYUID ${r.uidValidity} ${formatOrderedSet(r.pairs.map((p) => p[0]))} ${formatOrderedSet(r.pairs.map((p) => p[1]))}`
      : undefined;
    if (cmd.name === 'COPY') return ok(`${verb} completed`, code);
    if (code) ctx.send(`* OK [${code}] Moved\r\n`);
    reportExpunged(
      ctx,
      box,
      r.pairs.map((p) => p[0]),
    );
    return ok(`${verb} completed`);
  },
});
