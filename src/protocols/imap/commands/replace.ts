import { refuseWithout } from '../acl-checks.ts';
import { appendItem, isRefusal } from '../append-item.ts';
import { catenated } from '../catenate.ts';
import { markSeenBy, seenApart } from '../private-seen.ts';
import { resolveMailbox } from '../shared-mailboxes.ts';
import { bad, command, no, ok, type Tagged } from '../context.ts';
import { SELECTED } from '../state.ts';
import { reportExpunged } from './expunge.ts';

/**
 * REPLACE and UID REPLACE (RFC 8508 §3): appends the new message to the named mailbox and
 * expunges the old one from the selected mailbox in one store transaction, both or neither.
 * Answers `* OK [APPENDUID v uid]`, then the expunge, then the tagged OK; a replacement into the
 * selected mailbox itself arrives as EXISTS. A sequence number past the end is BAD, a UID no
 * longer there NO [NONEXISTENT]; a read-only mailbox NO [CANNOT].
 */
export const replace = command({
  names: ['REPLACE'],
  states: SELECTED,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const { user, mailbox: box } = ctx.state;
    const verb = cmd.uid ? 'UID REPLACE' : 'REPLACE';
    if (box.readOnly) return no('The mailbox is read-only', 'CANNOT');
    const seq = cmd.uid ? box.seqOf(cmd.id) : cmd.id <= box.exists ? cmd.id : 0;
    if (!seq) return cmd.uid ? no('No message with that UID', 'NONEXISTENT') : bad('No message with that sequence number');
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const visible = name === null ? undefined : await resolveMailbox(ctx.deps, user, name);
    if (!visible) return no('No such mailbox', 'TRYCREATE');
    // One store transaction holds both halves: the target must be in the selected mailbox's account.
    if (visible.mailbox.accountId !== box.accountId) return no('REPLACE into another account is not supported', 'CANNOT');
    const refused = refuseWithout(visible.rights, 'i', verb) ?? refuseWithout(box.rights, 'te', verb);
    if (refused) return refused;
    const target = visible.mailbox;
    const message = await catenated(ctx, cmd.message);
    if (isRefusal(message)) return message;
    const item = appendItem(message, ctx.deps.limits.appendLimit);
    if (isRefusal(item)) return item;
    const uid = box.uidAt(seq);
    // A grantee's \Seen on the replacement is its own (RFC 4314 §4).
    const stored = seenApart(box.reader, [item]);
    const r = await ctx.deps.mail.replace(box.accountId, box.id, uid, target.id, stored.items[0]!);
    if (stored.seen[0]) await markSeenBy(ctx.deps.mail, box.reader, box.accountId, target.id, [r.uid]);
    ctx.send(`* OK [APPENDUID ${r.uidValidity} ${r.uid}] Replacement message stored\r\n`);
    reportExpunged(ctx, box, [uid]);
    return ok(`${verb} completed`);
  },
});
