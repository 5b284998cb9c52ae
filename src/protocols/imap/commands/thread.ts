import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { runSearch } from '../search.ts';
import { idsAt } from '../sort.ts';

const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/**
 * THREAD and UID THREAD (RFC 5256 §3): the messages a search finds, threaded by ORDEREDSUBJECT or
 * REFERENCES (src/mail/threading.ts, run in the sort thread, sort-thread.ts), as `* THREAD (…)`.
 * References are the References ids, else the first In-Reply-To id; the sent date falls back to
 * INTERNALDATE (RFC 5256 §2.2).
 */
export const thread = command({
  names: ['THREAD'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const box = ctx.state.mailbox;
    if (!CHARSETS.has(cmd.charset.toUpperCase())) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const found = await runSearch(ctx.deps, box.accountId, box, cmd.search);
    if (found.highestModseq !== null) ctx.useCondstore();
    const orders = Float64Array.from(found.seqs);
    const numbers = cmd.uid ? Float64Array.from(found.seqs, (s) => box.uidAt(s)) : orders;
    const data = await ctx.deps.sortFields.thread(box.accountId, idsAt(box, found.seqs), numbers, orders, cmd.algorithm);
    ctx.send(`* THREAD${data ? ` ${data}` : ''}\r\n`);
    return ok(`${cmd.uid ? 'UID THREAD' : 'THREAD'} completed`);
  },
});
