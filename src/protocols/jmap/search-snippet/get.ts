import { partText, textLeaves } from '../../../mail/mime/text.ts';
import type { MimePart } from '../../../mail/mime/types.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import type { Filter } from '../filter.ts';
import { fromId } from '../ids.ts';
import type { EmailCondition } from '../email/filter.ts';
import { parseEmailFilter } from '../email/filter.ts';
import { matchRanges, parseTextQuery, type TextTerm } from '../../../mail/query/text-match.ts';

/** The readable text of a message (text parts, HTML stripped), bounded. */
function readableText(raw: Buffer, root: MimePart): string {
  let out = '';
  for (const leaf of textLeaves(root)) {
    if (out.length > 200_000) break;
    out += `${partText(raw, leaf, 200_000)}\n`;
  }
  return out;
}

/** Characters of body text shown around the first match. */
const SNIPPET_CHARS = 200;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The search terms of a filter that snippets highlight: `text`, `subject` and `body` conditions (not under NOT). */
function terms(filter: Filter<EmailCondition> | null): { subject: string[]; body: string[] } {
  const out = { subject: [] as string[], body: [] as string[] };
  const walk = (f: Filter<EmailCondition>) => {
    if (f.op === 'NOT') return;
    if (f.op !== 'condition') return f.conditions.forEach(walk);
    const c = f.condition;
    if (c.text) {
      out.subject.push(c.text);
      out.body.push(c.text);
    }
    if (c.subject) out.subject.push(c.subject);
    if (c.body) out.body.push(c.body);
  };
  if (filter) walk(filter);
  return out;
}

/** The words and phrases of the given text conditions (email/text-match.ts). */
function termsOf(queries: readonly string[]): TextTerm[] {
  return queries.flatMap(parseTextQuery);
}

/**
 * Wraps what the terms match in `<mark>` (the word a token starts, the words of a phrase),
 * HTML-escaping the rest (RFC 8621 §5.1); null when nothing matches.
 */
export function highlight(text: string, queries: readonly string[]): string | null {
  const ranges = matchRanges(text, termsOf(queries));
  if (!ranges.length) return null;
  let out = '';
  let at = 0;
  for (const [s, e] of ranges) {
    out += `${escapeHtml(text.slice(at, s))}<mark>${escapeHtml(text.slice(s, e))}</mark>`;
    at = e;
  }
  return out + escapeHtml(text.slice(at));
}

function bodySnippet(body: string, queries: readonly string[]): string | null {
  const first = matchRanges(body, termsOf(queries))[0];
  if (!first) return null;
  const start = Math.max(0, first[0] - SNIPPET_CHARS / 4);
  const window = body
    .slice(start, start + SNIPPET_CHARS)
    .replace(/\s+/g, ' ')
    .trim();
  return highlight(window, queries);
}

/** SearchSnippet/get (RFC 8621 §5.1): highlighted subject and body excerpts for a search's terms. */
export const searchSnippetGet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const filter = parseEmailFilter(args.raw['filter'], (id) => ctx.resolveId(id));
    const emailIds = args.ids('emailIds');
    if (!emailIds) throw invalidArguments('emailIds is required');
    if (emailIds.length > ctx.services.limits.maxObjectsInGet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInGet} emailIds`, { limit: 'maxObjectsInGet' });
    const want = terms(filter);
    const numeric = emailIds.flatMap((id) => fromId('email', id) ?? []);
    const messages = new Map((await ctx.services.mail.getMessages(accountId, numeric)).map((m) => [m.id, m]));
    const list = [];
    const notFound: string[] = [];
    for (const id of emailIds) {
      const n = fromId('email', id);
      const m = n === undefined ? undefined : messages.get(n);
      if (!m) {
        notFound.push(id);
        continue;
      }
      // The stored search text is lower-cased; snippets show the message's own text.
      const body = want.body.length ? readableText(await ctx.services.mail.readRaw(m), m.meta.root) : undefined;
      list.push({
        emailId: id,
        subject: want.subject.length ? highlight(m.meta.subject, want.subject) : null,
        preview: body !== undefined ? bodySnippet(body, want.body) : null,
      });
    }
    return { accountId: ctx.accountId, list, notFound: notFound.length ? notFound : null };
  },
};
