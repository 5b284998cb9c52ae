import type { Mailbox } from '../../mail/types.ts';
import type { CommandContext } from './context.ts';
import type { StatusItem } from './wire/types.ts';

/**
 * The `* STATUS name (…)` line for a mailbox (RFC 9051 §7.2.4), shared by STATUS and LIST-STATUS
 * (RFC 5819). RECENT is always 0 (no \Recent here); SIZE is RFC 8438; HIGHESTMODSEQ RFC 7162.
 */
export async function statusLine(ctx: CommandContext, mailbox: Mailbox, items: readonly StatusItem[]): Promise<string> {
  const needCounts = items.some((i) => i === 'MESSAGES' || i === 'UNSEEN' || i === 'DELETED' || i === 'SIZE');
  const counts = needCounts ? await ctx.deps.mail.mailboxCounts(mailbox.id) : null;
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
      case 'RECENT':
        parts.push('RECENT 0');
        break;
      case 'HIGHESTMODSEQ':
        parts.push(`HIGHESTMODSEQ ${mailbox.highestModseq}`);
        break;
      case 'APPENDLIMIT':
        parts.push(`APPENDLIMIT ${ctx.deps.limits.appendLimit}`);
        break;
      case 'MAILBOXID':
        parts.push(`MAILBOXID (F${mailbox.id})`);
        break;
    }
  }
  return `* STATUS ${ctx.mailboxToWire(mailbox.name)} (${parts.join(' ')})\r\n`;
}
