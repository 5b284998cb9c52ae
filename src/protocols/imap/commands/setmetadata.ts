import { bad, command, no, ok, type Tagged } from '../context.ts';
import { entryName, metadataTarget } from '../metadata-names.ts';
import { SIGNED_IN, userOf } from '../state.ts';

/**
 * SETMETADATA (RFC 5464 §4.3): sets or (NIL) removes server (`""`) or mailbox entries, all or
 * none; a value over `imap.metadata_max_size` is `NO [METADATA MAXSIZE n]`, more entries than
 * `imap.metadata_max_entries` per account `NO [METADATA TOOMANY]`.
 */
export const setmetadata = command({
  names: ['SETMETADATA'],
  states: SIGNED_IN,
  async run(ctx, cmd): Promise<Tagged> {
    const user = userOf(ctx.state)!;
    const entries: Array<{ name: string; value: Buffer | null }> = [];
    for (const e of cmd.entries) {
      const name = entryName(e.name);
      if (name === null) return bad('Invalid metadata entry name');
      entries.push({ name, value: e.value });
    }
    const mailboxId = await metadataTarget(ctx, user.accountId, cmd.mailbox);
    if (mailboxId === null) return no('No such mailbox', 'NONEXISTENT');
    const refused = await ctx.deps.mail.metadata.set(user.accountId, mailboxId, entries, {
      maxSize: ctx.deps.limits.metadataMaxSize,
      maxEntries: ctx.deps.limits.metadataMaxEntries,
    });
    if (refused?.code === 'MAXSIZE') return no('Value too large', `METADATA MAXSIZE ${refused.max}`);
    if (refused?.code === 'TOOMANY') return no('Too many metadata entries', 'METADATA TOOMANY');
    return ok('SETMETADATA completed');
  },
});
