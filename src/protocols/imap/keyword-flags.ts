import type { CommandContext } from './context.ts';
import { rightForKeyword } from './acl-checks.ts';
import { flagList, flagToKeyword, isSystemKeyword, keywordsToFlags, SYSTEM_FLAGS } from './flags.ts';
import type { SelectedMailbox } from './selected.ts';

/**
 * The FLAGS and PERMANENTFLAGS a session has told its client about (RFC 9051 §7.3.5, §7.1): the
 * system flags plus every keyword of the selected mailbox, in the spelling clients first used.
 * A keyword that enters the mailbox later (STORE, COPY, MOVE, APPEND, another session) is
 * announced again before any FETCH shows it.
 */

/**
 * `* FLAGS (…)` and `* OK [PERMANENTFLAGS (…)]` for the keywords the session knows; PERMANENTFLAGS
 * holds only the flags the user's rights let them change (RFC 4314 §4: s, t, w).
 */
export function flagsResponses(box: SelectedMailbox): string {
  const keywords = [...box.shownKeywords].sort();
  const all = [...SYSTEM_FLAGS, ...keywordsToFlags(keywords, box.names)];
  const flags = all.join(' ');
  const settable = all.filter((f) => {
    const k = flagToKeyword(f);
    return box.rights.includes(k.ok ? rightForKeyword(k.keyword) : 'w');
  });
  const permanent = [...settable, ...(box.rights.includes('w') ? ['\\*'] : [])].join(' ');
  return `* FLAGS (${flags})\r\n${box.readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n' : `* OK [PERMANENTFLAGS (${permanent})] Flags permitted\r\n`}`;
}

/** Announces keywords in `lists` the client has not been told about yet; call before sending FETCH lines. */
export async function announceKeywords(ctx: CommandContext, box: SelectedMailbox, lists: Iterable<readonly string[]>): Promise<void> {
  let fresh = false;
  for (const list of lists) {
    for (const k of list) {
      if (isSystemKeyword(k) || box.shownKeywords.has(k)) continue;
      box.shownKeywords.add(k);
      fresh = true;
    }
  }
  if (!fresh || ctx.state.kind !== 'selected') return;
  box.names = await ctx.deps.mail.keywordNames(box.accountId);
  ctx.send(flagsResponses(box));
}

/** The FLAGS of one message of the view, with `\\Recent` for IMAP4rev1 clients (RFC 3501 §2.3.2). */
export function messageFlags(box: SelectedMailbox, seq: number, rev1: boolean): string {
  const list = flagList(box.keywordsAt(seq), box.names);
  if (!rev1 || !box.recent.has(box.uidAt(seq))) return list;
  return list === '()' ? '(\\Recent)' : `(\\Recent ${list.slice(1)}`;
}
