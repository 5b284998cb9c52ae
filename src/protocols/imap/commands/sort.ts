import { SELECTED } from '../state.ts';
import { bad, command, no, ok, type Tagged } from '../context.ts';
import { formatPartialRange, partialSlice } from '../partial.ts';
import { runSearch } from '../search.ts';
import { esearchHead, startContext } from '../search-contexts.ts';
import { sortSeqs } from '../sort.ts';
import { formatOrderedSet } from '../wire/sequence.ts';

const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/**
 * SORT and UID SORT (RFC 5256 §3, SORT=DISPLAY RFC 5957): the messages a search finds, in the
 * order of the sort criteria, as `* SORT`, or with RETURN (ESORT, RFC 5267) as `* ESEARCH`.
 * No EXPUNGE is sent during SORT by sequence number (RFC 5256 §3). UPDATE keeps the sorted
 * result live (RFC 5267 §4.3, CONTEXT=SORT).
 */
export const sort = command({
  names: ['SORT'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const box = ctx.state.mailbox;
    if (!CHARSETS.has(cmd.charset.toUpperCase())) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const found = await runSearch(ctx.deps, box.accountId, box, cmd.search);
    if (found.highestModseq !== null) ctx.useCondstore();
    const seqs = await sortSeqs(ctx.deps.sortFields, box.accountId, box, found.seqs, cmd.criteria);
    const numbers = cmd.uid ? seqs.map((s) => box.uidAt(s)) : seqs;
    if (cmd.returns === null) {
      ctx.send(`* SORT${numbers.map((n) => ` ${n}`).join('')}\r\n`);
      return ok(`${cmd.uid ? 'UID SORT' : 'SORT'} completed`);
    }
    // ESORT (RFC 5267 §3.2): an ESEARCH answer in sort order; MIN and MAX are the first and last
    // sorted messages, ALL keeps the order (ranges only for ascending runs); SAVE is not defined.
    if (cmd.returns.includes('SAVE')) return bad('SAVE is not a SORT return option', 'CLIENTBUG');
    // UPDATE and CONTEXT (RFC 5267 §4) ask for no result data of their own.
    const asked = cmd.returns.filter((r) => r !== 'UPDATE' && r !== 'CONTEXT');
    const want = asked.length ? asked : ['ALL'];
    let line = esearchHead(cmd.tag, cmd.uid);
    if (want.includes('MIN') && numbers.length) line += ` MIN ${numbers[0]}`;
    if (want.includes('MAX') && numbers.length) line += ` MAX ${numbers.at(-1)}`;
    if (want.includes('COUNT')) line += ` COUNT ${numbers.length}`;
    if (want.includes('ALL') && numbers.length) line += ` ALL ${formatOrderedSet(numbers)}`;
    // PARTIAL (RFC 9394 §3.1, RFC 5267 §4.4): those positions of the sorted result, in sort order.
    if (cmd.partial) {
      const part = partialSlice(numbers, cmd.partial);
      line += ` PARTIAL (${formatPartialRange(cmd.partial)} ${part.length ? formatOrderedSet(part) : 'NIL'})`;
    }
    ctx.send(`${line}\r\n`);
    // UPDATE (RFC 5267 §4.3, CONTEXT=SORT): the sorted result stays live, with positions in it.
    const refused = cmd.returns.includes('UPDATE')
      ? startContext(box, { tag: cmd.tag, uid: cmd.uid, criteria: cmd.search, sort: cmd.criteria, uids: seqs.map((s) => box.uidAt(s)) })
      : undefined;
    return ok(`${cmd.uid ? 'UID SORT' : 'SORT'} completed`, refused);
  },
});
