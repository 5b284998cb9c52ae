import type { StorageQuota } from '../../../mail/storage-quota.ts';
import type { CommandContext } from '../context.ts';
import { command, no, ok } from '../context.ts';
import { SIGNED_IN, userOf } from '../state.ts';

/** The one quota root of an account: every mailbox is governed by it (RFC 9208 §3.2). */
const ROOT = '""';

/** The `* QUOTA` line: STORAGE usage and limit in units of 1024 octets (RFC 9208 §5.1, §4.3.2). */
function quotaLine(q: StorageQuota & { limit: number }): string {
  return `* QUOTA ${ROOT} (STORAGE ${Math.ceil(q.used / 1024)} ${Math.floor(q.limit / 1024)})\r\n`;
}

async function quotaOf(ctx: CommandContext): Promise<(StorageQuota & { limit: number }) | undefined> {
  const q = await ctx.deps.mail.storageQuota(userOf(ctx.state)!.accountId);
  return q.limit === null ? undefined : { used: q.used, limit: q.limit };
}

/**
 * GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 §4.1). An account has one quota root, "", with the
 * STORAGE resource an administrator sets (`fingerpost admin user quota`); without a limit there is
 * no root. SETQUOTA is the administrator's, so users get NO [NOPERM] (RFC 9208 §4.1.3, RFC 5530).
 */
export const quota = command({
  names: ['GETQUOTA', 'GETQUOTAROOT', 'SETQUOTA'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    if (cmd.name === 'SETQUOTA') {
      for (const [resource] of cmd.limits) if (resource !== 'STORAGE') return no(`Unsupported resource ${resource.slice(0, 20)}`, 'CANNOT');
      return no('Quotas are set by the administrator', 'NOPERM');
    }
    if (cmd.name === 'GETQUOTA') {
      const q = cmd.root === '' ? await quotaOf(ctx) : undefined;
      if (!q) return no('No such quota root', 'NONEXISTENT');
      ctx.send(quotaLine(q));
      return ok('GETQUOTA completed');
    }
    const user = userOf(ctx.state)!;
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const mailbox = name === null ? undefined : await ctx.deps.mail.getMailbox(user.accountId, name);
    if (!mailbox) return no('No such mailbox', 'NONEXISTENT');
    const q = await quotaOf(ctx);
    ctx.send(`* QUOTAROOT ${ctx.mailboxToWire(mailbox.name)}${q ? ` ${ROOT}` : ''}\r\n`);
    if (q) ctx.send(quotaLine(q));
    return ok('GETQUOTAROOT completed');
  },
});
