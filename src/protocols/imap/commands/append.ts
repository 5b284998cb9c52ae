import { SIGNED_IN, userOf } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { flagToKeyword } from '../flags.ts';

/**
 * APPEND (RFC 9051 §6.3.12) with UIDPLUS APPENDUID (RFC 4315), LITERAL+ and literal8 data
 * (RFC 3516); the size limit (APPENDLIMIT, RFC 7889) is enforced before the literal is read.
 */
export const append = command({
  names: ['APPEND'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const mailbox = name === null ? undefined : await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!mailbox) return no('No such mailbox', 'TRYCREATE');
    if (cmd.message.length === 0) return no('Empty message', 'CANNOT');
    if (cmd.message.length > ctx.deps.limits.appendLimit) return no('Message too large', 'TOOBIG');
    const keywords: string[] = [];
    for (const flag of cmd.flags) {
      if (flag.toLowerCase() === '\\recent') continue;
      const k = flagToKeyword(flag);
      if (!k.ok) return no(`Invalid flag: ${k.reason}`, 'CANNOT');
      // Keywords go to the store as written: it compares them lower-case and remembers the spelling.
      keywords.push(flag.startsWith('\\') ? k.keyword : flag);
    }
    const r = await ctx.deps.mail.append(user.accountId, mailbox.id, cmd.message, {
      keywords,
      ...(cmd.date !== null ? { receivedAt: cmd.date } : {}),
    });
    return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${r.uid}`);
  },
});
