import { bad, command, no, ok, type Tagged } from '../context.ts';
import { entryName, metadataTarget, metadataValue } from '../metadata-names.ts';
import { SIGNED_IN, userOf } from '../state.ts';

/**
 * GETMETADATA (RFC 5464 §4.2): the named server (`""`) or mailbox entries, with DEPTH their
 * children or descendants, as one `* METADATA` response; a requested entry that does not exist
 * is NIL. MAXSIZE leaves out larger values and the tagged OK says `[METADATA LONGENTRIES n]`.
 */
export const getmetadata = command({
  names: ['GETMETADATA'],
  states: SIGNED_IN,
  async run(ctx, cmd): Promise<Tagged> {
    const user = userOf(ctx.state)!;
    const names: string[] = [];
    for (const raw of cmd.entries) {
      const name = entryName(raw);
      if (name === null) return bad('Invalid metadata entry name');
      names.push(name);
    }
    const mailboxId = await metadataTarget(ctx, user.accountId, cmd.mailbox);
    if (mailboxId === null) return no('No such mailbox', 'NONEXISTENT');
    const found = await ctx.deps.mail.metadata.get(user.accountId, mailboxId, names, cmd.depth);
    let longest = 0;
    const parts: Array<string | Buffer> = [];
    const seen = new Set<string>();
    for (const e of found) {
      seen.add(e.name);
      if (cmd.maxSize !== null && e.value.length > cmd.maxSize) {
        longest = Math.max(longest, e.value.length);
        continue;
      }
      parts.push(parts.length ? ` ${e.name} ` : `${e.name} `, ...metadataValue(e.value));
    }
    for (const n of new Set(names)) if (!seen.has(n)) parts.push(parts.length ? ` ${n} NIL` : `${n} NIL`);
    if (parts.length) {
      const mailbox = cmd.mailbox === '' ? '""' : ctx.mailboxToWire(ctx.mailboxFromWire(cmd.mailbox)!);
      ctx.send(
        Buffer.concat([`* METADATA ${mailbox} (`, ...parts, ')\r\n'].map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))),
      );
    }
    return longest ? ok('GETMETADATA completed', `METADATA LONGENTRIES ${longest}`) : ok('GETMETADATA completed');
  },
});
