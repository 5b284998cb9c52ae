import type { JsonObject } from '../args.ts';
import { BLOB_LOOKUP_TYPES, CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { parseBlobId, toId } from '../ids.ts';

/**
 * Blob/lookup (RFC 9404 §4.3): which Emails (a message or one of its parts is the blob), and so
 * which Threads and Mailboxes, refer to each blob. A blob the account cannot read is `notFound`;
 * an upload nothing refers to yet matches nothing.
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
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const raw of ids) {
      const id = ctx.resolveId(raw) ?? raw;
      const ref = parseBlobId(id);
      if (!ref || !(await ctx.services.mail.uploads.source(accountId, ref.sha, ctx.services.config.jmap.upload_ttl))) {
        notFound.push(id);
        continue;
      }
      const messages = await ctx.services.mail.messagesByBlob(accountId, [ref.sha]);
      const boxes = await ctx.services.mail.mailboxIdsOf(messages.map((m) => m.id));
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
