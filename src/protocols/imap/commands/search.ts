import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { formatPartialRange, partialSlice } from '../partial.ts';
import { runSearch } from '../search.ts';
import { esearchHead, startContext } from '../search-contexts.ts';
import { formatSequenceSet } from '../wire/sequence.ts';

const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/**
 * SEARCH and UID SEARCH (RFC 9051 §6.4.4): ESEARCH answers (RFC 4731) for RETURN and for IMAP4rev2
 * clients, `* SEARCH` for IMAP4rev1; SAVE keeps the result for `$` (RFC 9051 §6.4.4.1); a MODSEQ
 * key adds the highest MODSEQ of the matches (RFC 7162 §3.1.5); PARTIAL pages through the result
 * (RFC 9394 §3.1); UPDATE keeps the result live (RFC 5267 §4.3, CONTEXT=SEARCH).
 */
export const search = command({
  names: ['SEARCH'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const box = ctx.state.mailbox;
    if (cmd.charset !== null && !CHARSETS.has(cmd.charset.toUpperCase())) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const result = await runSearch(ctx.deps, box.accountId, box, cmd.criteria);
    if (result.highestModseq !== null) ctx.useCondstore();
    const numbers = cmd.uid ? result.seqs.map((s) => box.uidAt(s)) : result.seqs;
    const returns = cmd.returns === null ? [] : [...cmd.returns];
    const esearch = cmd.returns !== null || ctx.rev2;
    // UPDATE and CONTEXT (RFC 5267 §4) ask for no result data of their own.
    const asked = returns.filter((r) => r !== 'SAVE' && r !== 'UPDATE' && r !== 'CONTEXT');
    // PARTIAL (RFC 9394 §3.1): those positions of the ascending result.
    const partSeqs = cmd.partial ? partialSlice(result.seqs, cmd.partial) : null;
    // RFC 5182 §2.4 / RFC 9394: with only MIN, MAX and PARTIAL (no ALL, COUNT) only the messages
    // returned are saved, and MODSEQ (RFC 4731 §3.2) is the highest of those; else of every match.
    const onlyReturned = asked.length > 0 && asked.every((r) => r === 'MIN' || r === 'MAX' || r === 'PARTIAL');
    const returnedSeqs = onlyReturned
      ? [
          ...new Set([
            ...(asked.includes('MIN') && result.seqs.length ? [result.seqs[0]!] : []),
            ...(asked.includes('MAX') && result.seqs.length ? [result.seqs.at(-1)!] : []),
            ...(partSeqs ?? []),
          ]),
        ].sort((a, b) => a - b)
      : result.seqs;
    if (returns.includes('SAVE')) box.saved = returnedSeqs.map((s) => box.uidAt(s));
    const modseq =
      result.highestModseq === null || !numbers.length
        ? null
        : esearch && onlyReturned
          ? returnedSeqs.length
            ? Math.max(...returnedSeqs.map((s) => box.modseqAt(s)))
            : null
          : result.highestModseq;
    if (!esearch) {
      ctx.send(`* SEARCH${numbers.map((n) => ` ${n}`).join('')}${modseq !== null ? ` (MODSEQ ${modseq})` : ''}\r\n`);
    } else if (!(asked.length === 0 && returns.includes('SAVE'))) {
      const want = asked.length ? asked : ['ALL'];
      let line = esearchHead(cmd.tag, cmd.uid);
      if (want.includes('MIN') && numbers.length) line += ` MIN ${numbers[0]}`;
      if (want.includes('MAX') && numbers.length) line += ` MAX ${numbers.at(-1)}`;
      if (want.includes('COUNT')) line += ` COUNT ${numbers.length}`;
      if (want.includes('ALL') && numbers.length) line += ` ALL ${formatSequenceSet(numbers)}`;
      if (cmd.partial && partSeqs) {
        const part = cmd.uid ? partSeqs.map((s) => box.uidAt(s)) : partSeqs;
        line += ` PARTIAL (${formatPartialRange(cmd.partial)} ${part.length ? formatSequenceSet(part) : 'NIL'})`;
      }
      if (modseq !== null) line += ` MODSEQ ${modseq}`;
      ctx.send(`${line}\r\n`);
    }
    // UPDATE (RFC 5267 §4.3): the result stays live; ADDTO/REMOVEFROM follow as the mailbox changes.
    const refused = returns.includes('UPDATE')
      ? startContext(box, { tag: cmd.tag, uid: cmd.uid, criteria: cmd.criteria, sort: null, uids: result.seqs.map((s) => box.uidAt(s)) })
      : undefined;
    return ok(`${cmd.uid ? 'UID SEARCH' : 'SEARCH'} completed`, refused);
  },
});
