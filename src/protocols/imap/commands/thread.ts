import { baseSubject } from '../../../mail/base-subject.ts';
import { formatThreads, type ThreadMessage, threadOrderedSubject, threadReferences } from '../../../mail/threading.ts';
import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { runSearch } from '../search.ts';
import { loadInfos } from '../sort.ts';

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
    const { user, mailbox: box } = ctx.state;
    if (!CHARSETS.has(cmd.charset.toUpperCase())) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const found = await runSearch(ctx.deps, user.accountId, box, cmd.search);
    if (found.highestModseq !== null) ctx.useCondstore();
    const infos = await loadInfos(ctx.deps, user.accountId, box, found.seqs);
    const messages: ThreadMessage[] = [];
    for (const [seq, info] of infos) {
      const subject = baseSubject(info.meta.subject);
      messages.push({
        id: cmd.uid ? box.uidAt(seq) : seq,
        order: seq,
        messageId: info.meta.messageId,
        references: info.meta.references.length ? info.meta.references : info.meta.inReplyTo.slice(0, 1),
        sentAt: info.meta.sentAt ?? info.receivedAt,
        baseSubject: subject.base,
        replyOrForward: subject.replyOrForward,
      });
    }
    const roots = cmd.algorithm === 'REFERENCES' ? threadReferences(messages) : threadOrderedSubject(messages);
    const data = formatThreads(roots);
    ctx.send(`* THREAD${data ? ` ${data}` : ''}\r\n`);
    return ok(`${cmd.uid ? 'UID THREAD' : 'THREAD'} completed`);
  },
});
