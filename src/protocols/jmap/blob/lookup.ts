import type { JsonObject } from '../args.ts';
import { BLOB_LOOKUP_TYPES, CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { parseBlobId, toId } from '../ids.ts';
import { mailboxesWith, readable } from '../sharing/shared-mail.ts';
import { accessTo, readSharedBlob } from '../sharing/shared-blobs.ts';

/**
 * Blob/lookup (RFC 9404 §4.3): which Emails (a message or one of its parts is the blob), and so
 * which Threads and Mailboxes, refer to each blob. A blob the account cannot read is `notFound`;
 * an upload nothing refers to yet matches nothing. On a shared account (RFC 9670 §1.4) only the
 * Emails and mailboxes the grant lets the caller read are named.
 */
export const blobLookup: MethodDefinition = {
  capability: CAPABILITIES.blob,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.blob);
    const typeNames = args.strings('typeNames');
    if (!typeNames) throw invalidArguments('typeNames is required');
    for (const t of typeNames)
      if (!(BLOB_LOOKUP_TYPES as readonly string[]).includes(t))
        throw new MethodError('unknownDataType', `cannot look up ${t.slice(0, 50)}`);
    const ids = args.ids('ids');
    if (!ids) throw invalidArguments('ids is required');
    if (ids.length > ctx.services.limits.maxObjectsInGet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInGet} ids`, { limit: 'maxObjectsInGet' });
    const access = await accessTo(ctx, accountId);
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const raw of ids) {
      const id = ctx.resolveId(raw) ?? raw;
      const ref = parseBlobId(id);
      const known = ref
        ? access
          ? (await readSharedBlob(ctx.services, ctx.caller.account.id, access, id)) !== undefined
          : (await ctx.services.mail.uploads.source(accountId, ref.sha, ctx.services.config.jmap.upload_ttl)) !== undefined
        : false;
      if (!ref || !known) {
        notFound.push(id);
        continue;
      }
      let messages = await ctx.services.mail.messagesByBlob(accountId, [ref.sha]);
      if (access) {
        const ok = await readable(
          ctx,
          access,
          messages.map((m) => m.id),
        );
        messages = messages.filter((m) => ok.has(m.id));
      }
      const boxes = await ctx.services.mail.mailboxIdsOf(messages.map((m) => m.id));
      if (access) {
        const read = mailboxesWith(access, 'lr');
        for (const [m, list] of boxes)
          boxes.set(
            m,
            list.filter((b) => read.has(b)),
          );
      }
      const matched: Record<string, string[]> = {};
      for (const t of typeNames) {
        if (t === 'Email') matched[t] = messages.map((m) => toId('email', m.id));
        else if (t === 'Thread') matched[t] = [...new Set(messages.map((m) => m.threadId))].map((n) => toId('thread', n));
        else matched[t] = [...new Set([...boxes.values()].flat())].sort((a, b) => a - b).map((n) => toId('mailbox', n));
      }
      list.push({ id, matchedIds: matched });
    }
    return { accountId: ctx.accountId, list, notFound };
  },
};
