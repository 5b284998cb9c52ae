import { formatThreads, type ThreadMessage, threadOrderedSubject, threadReferences } from '../../../mail/threading.ts';
import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { Pace } from '../pace.ts';
import { runSearch } from '../search.ts';
import { fieldsOf } from '../sort.ts';

const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/**
 * THREAD and UID THREAD (RFC 5256 §3): the messages a search finds, threaded by ORDEREDSUBJECT or
 * REFERENCES (src/mail/threading.ts), as `* THREAD (…)`. References are the References ids, else
 * the first In-Reply-To id; the sent date falls back to INTERNALDATE (RFC 5256 §2.2).
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
    const fields = await fieldsOf(ctx.deps.sortFields, box.accountId, box, found.seqs);
    const messages: ThreadMessage[] = [];
    for (const [seq, f] of fields) {
      messages.push({
        id: cmd.uid ? box.uidAt(seq) : seq,
        order: seq,
        messageId: f.messageId,
        references: f.references,
        sentAt: f.sentAt,
        baseSubject: f.baseSubject,
        subjectKey: f.subjectKey,
        replyOrForward: f.replyOrForward,
      });
    }
    // Threading 100,000 messages is real work: other sessions get a turn every 20,000 steps.
    const pace = new Pace(20_000);
    const roots = cmd.algorithm === 'REFERENCES' ? await threadReferences(messages, pace) : await threadOrderedSubject(messages, pace);
    const data = formatThreads(roots);
    ctx.send(`* THREAD${data ? ` ${data}` : ''}\r\n`);
    return ok(`${cmd.uid ? 'UID THREAD' : 'THREAD'} completed`);
  },
});
