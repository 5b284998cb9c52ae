import { mailboxObjectId } from '../../mail/object-ids.ts';
import type { Mailbox } from '../../mail/types.ts';
import type { CommandContext } from './context.ts';
import { readerOf } from './private-seen.ts';
import { userOf } from './state.ts';
import type { StatusItem } from './wire/types.ts';

/**
 * The `* STATUS name (…)` line for a mailbox (RFC 9051 §7.2.4), shared by STATUS and LIST-STATUS
 * (RFC 5819). RECENT counts messages no session has claimed yet (RFC 3501 §2.3.2); SIZE is RFC 8438;
 * HIGHESTMODSEQ RFC 7162; DELETED-STORAGE RFC 9208 §4.2.
 */
export async function statusLine(ctx: CommandContext, mailbox: Mailbox, items: readonly StatusItem[]): Promise<string> {
  const needCounts = items.some((i) => i === 'MESSAGES' || i === 'UNSEEN' || i === 'DELETED' || i === 'SIZE' || i === 'DELETED-STORAGE');
  const counts = needCounts
    ? await ctx.deps.mail.mailboxCounts(mailbox.id, readerOf(mailbox.accountId, userOf(ctx.state)!.accountId))
    : null;
  const parts: string[] = [];
  for (const item of new Set(items)) {
    switch (item) {
      case 'MESSAGES':
        parts.push(`MESSAGES ${counts!.messages}`);
        break;
      case 'UIDNEXT':
        parts.push(`UIDNEXT ${mailbox.uidNext}`);
        break;
      case 'UIDVALIDITY':
        parts.push(`UIDVALIDITY ${mailbox.uidValidity}`);
        break;
      case 'UNSEEN':
        parts.push(`UNSEEN ${counts!.unseen}`);
        break;
      case 'DELETED':
        parts.push(`DELETED ${counts!.deleted}`);
        break;
      case 'SIZE':
        parts.push(`SIZE ${counts!.size}`);
        break;
      case 'DELETED-STORAGE':
        // In the STORAGE resource's units of 1024 octets (RFC 9208 §4.2, §5.1).
        parts.push(`DELETED-STORAGE ${Math.ceil(counts!.deletedSize / 1024)}`);
        break;
      case 'RECENT': {
        // Not yet claimed by any session, plus those this session holds (RFC 3501 §6.3.10).
        const own = ctx.state.kind === 'selected' && ctx.state.mailbox.id === mailbox.id ? ctx.state.mailbox.recent.size : 0;
        parts.push(`RECENT ${own + (await ctx.deps.mail.unclaimedRecent(mailbox.id, mailbox.firstRecentUid))}`);
        break;
      }
      case 'HIGHESTMODSEQ':
        parts.push(`HIGHESTMODSEQ ${mailbox.highestModseq}`);
        break;
      case 'APPENDLIMIT':
        parts.push(`APPENDLIMIT ${ctx.deps.limits.appendLimit}`);
        break;
      case 'MAILBOXID':
        parts.push(`MAILBOXID (${mailboxObjectId(mailbox.id)})`);
        break;
    }
  }
  return `* STATUS ${ctx.mailboxToWire(mailbox.name)} (${parts.join(' ')})\r\n`;
}
