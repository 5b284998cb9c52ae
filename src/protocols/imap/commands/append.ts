import type { AppendItem } from '../../../mail/store.ts';
import { permittedKeywords, refuseWithout } from '../acl-checks.ts';
import { appendItem, isRefusal } from '../append-item.ts';
import { catenated } from '../catenate.ts';
import { markSeenBy, readerOf, seenApart } from '../private-seen.ts';
import { resolveMailbox } from '../shared-mailboxes.ts';
import { command, no, ok } from '../context.ts';
import { SIGNED_IN, userOf } from '../state.ts';
import { formatOrderedSet } from '../wire/sequence.ts';

/**
 * APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502: several messages, all or none), UIDPLUS
 * APPENDUID with the UIDs in order (RFC 4315), LITERAL+ and literal8 data (RFC 3516); each
 * message's size is checked against APPENDLIMIT (RFC 7889) before its literal is read; CATENATE
 * (RFC 4469) builds a message from text and URLs first. Needs the `i` right (RFC 4314 §4).
 */
export const append = command({
  names: ['APPEND'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const visible = name === null ? undefined : await resolveMailbox(ctx.deps, user, name);
    if (!visible) return no('No such mailbox', 'TRYCREATE');
    const refused = refuseWithout(visible.rights, 'i', 'APPEND');
    if (refused) return refused;
    const mailbox = visible.mailbox;
    const items: AppendItem[] = [];
    for (const sent of cmd.messages) {
      const m = await catenated(ctx, sent);
      if (isRefusal(m)) return m;
      const item = appendItem(m, ctx.deps.limits.appendLimit);
      if (isRefusal(item)) return item;
      // Flags the rights do not allow setting are dropped (RFC 4314 §4 APPEND).
      items.push({ ...item, keywords: permittedKeywords(visible.rights, item.keywords ?? []) });
    }
    // Into another account's mailbox \Seen is the appending user's own (RFC 4314 §4), set after the append.
    const reader = readerOf(mailbox.accountId, user.accountId);
    const stored = seenApart(reader, items);
    const results = await ctx.deps.mail.appendMany(mailbox.accountId, mailbox.id, stored.items);
    await markSeenBy(
      ctx.deps.mail,
      reader,
      mailbox.accountId,
      mailbox.id,
      results.filter((_, i) => stored.seen[i]).map((r) => r.uid),
    );
    const uids = formatOrderedSet(results.map((r) => r.uid));
    return ok('APPEND completed', `APPENDUID ${results[0]!.uidValidity} ${uids}`);
  },
});
