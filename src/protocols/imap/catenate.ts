import { type CommandContext, no, type Tagged } from './context.ts';
import { parseMessageUrl } from './imap-url.ts';
import { sectionBytes } from './sections.ts';
import { userOf } from './state.ts';
import { safeText } from './wire/encoder.ts';
import type { AppendMessage, CatPart } from './wire/types.ts';

/**
 * CATENATE (RFC 4469 §5): builds an APPEND message from literal text and IMAP URLs to messages or
 * parts in the signed-in account. A URL that does not parse, names another user, another
 * UIDVALIDITY, or a message or section that is not there is `NO [BADURL url]`; a result larger
 * than APPENDLIMIT `NO [TOOBIG]`, checked before each part is read. The host is not compared:
 * every URL resolves in the signed-in account.
 */
export async function catenated(ctx: CommandContext, m: AppendMessage): Promise<AppendMessage | Tagged> {
  if (!m.catenate) return m;
  const limit = ctx.deps.limits.appendLimit;
  const chunks: Buffer[] = [];
  let size = 0;
  for (const part of m.catenate) {
    const data = part.kind === 'TEXT' ? part.data : await urlBytes(ctx, part, limit - size);
    if (data === 'toobig') return no('The catenated message is too large', 'TOOBIG');
    if (!data) return no('The URL does not name a message here', `BADURL ${urlText((part as Extract<CatPart, { kind: 'URL' }>).url)}`);
    size += data.length;
    if (size > limit) return no('The catenated message is too large', 'TOOBIG');
    chunks.push(data);
  }
  return { ...m, message: Buffer.concat(chunks), catenate: null };
}

/** The URL as a BADURL response code carries it: no `]`, no controls (RFC 4469 §6 url-resp-text). */
function urlText(url: string): string {
  return safeText(url).replace(/]/g, '%5D');
}

/** The bytes a URL names, null when it names nothing here, 'toobig' when its part alone passes `room`. */
async function urlBytes(ctx: CommandContext, part: Extract<CatPart, { kind: 'URL' }>, room: number): Promise<Buffer | null | 'toobig'> {
  const url = parseMessageUrl(part.url);
  const user = userOf(ctx.state);
  if (!url || !user) return null;
  if (url.user !== null && url.user.toLowerCase() !== user.address.toLowerCase()) return null;
  const mail = ctx.deps.mail;
  let messageId: number | undefined;
  if (url.mailbox === null) {
    // Relative to the selected mailbox (RFC 4469 §5): only while one is selected.
    if (ctx.state.kind !== 'selected') return null;
    const box = ctx.state.mailbox;
    if (url.uidValidity !== null && url.uidValidity !== box.uidValidity) return null;
    const seq = box.seqOf(url.uid);
    messageId = seq ? box.messageIdAt(seq) : undefined;
  } else {
    const mailbox = await mail.getMailbox(user.accountId, url.mailbox);
    if (!mailbox || (url.uidValidity !== null && url.uidValidity !== mailbox.uidValidity)) return null;
    messageId = await mail.messageIdAt(mailbox.id, url.uid);
  }
  if (messageId === undefined) return null;
  const info = (await ctx.deps.cache.load(user.accountId, [messageId])).get(messageId);
  if (!info) return null;
  if (!url.section && !url.partial && info.size > room) return 'toobig';
  const raw = await mail.readRaw(info);
  let data = url.section ? sectionBytes(raw, info.meta.root, url.section) : raw;
  if (!data) return null;
  if (url.partial)
    data = data.subarray(Math.min(url.partial.start, data.length), Math.min(url.partial.start + url.partial.length, data.length));
  return data;
}
