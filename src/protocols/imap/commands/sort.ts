import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { runSearch } from '../search.ts';
import { sortSeqs } from '../sort.ts';

const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/**
 * SORT and UID SORT (RFC 5256 §3, SORT=DISPLAY RFC 5957): the messages a search finds, in the
 * order of the sort criteria, as `* SORT`. With RETURN (ESORT, RFC 5267) see esearch answers.
 * No EXPUNGE is sent during SORT by sequence number (RFC 5256 §3).
 */
export const sort = command({
  names: ['SORT'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const { user, mailbox: box } = ctx.state;
    if (!CHARSETS.has(cmd.charset.toUpperCase())) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const found = await runSearch(ctx.deps, user.accountId, box, cmd.search);
    if (found.highestModseq !== null) ctx.useCondstore();
    const seqs = await sortSeqs(ctx.deps.sortFields, user.accountId, box, found.seqs, cmd.criteria);
    const numbers = cmd.uid ? seqs.map((s) => box.uidAt(s)) : seqs;
    ctx.send(`* SORT${numbers.map((n) => ` ${n}`).join('')}\r\n`);
    return ok(`${cmd.uid ? 'UID SORT' : 'SORT'} completed`);
  },
});
