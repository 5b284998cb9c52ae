import { SELECTED } from '../state.ts';
import { command, no, ok, type Tagged } from '../context.ts';
import { flagToKeyword } from '../flags.ts';
import { refuseWithout, rightForKeyword } from '../acl-checks.ts';
import { announceKeywords, messageFlags } from '../keyword-flags.ts';
import { targetSeqs } from '../targets.ts';
import { fetchOpen } from '../uid-only.ts';
import { formatSequenceSet } from '../wire/sequence.ts';

/**
 * STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE UNCHANGEDSINCE (RFC 7162 §3.1.3): answers
 * with the new FLAGS (unless .SILENT), and MODIFIED for messages changed since the given MODSEQ.
 * With CONDSTORE in use every answer carries UID and MODSEQ (RFC 7162 §3.1).
 */
export const store = command({
  names: ['STORE'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const box = ctx.state.mailbox;
    if (box.readOnly) return no('The mailbox is read-only', 'CANNOT');
    if (cmd.unchangedSince !== null) ctx.useCondstore();
    const keywords: string[] = [];
    for (const flag of cmd.flags) {
      const k = flagToKeyword(flag);
      if (!k.ok) return no(`Cannot store ${flag.slice(0, 40)}: ${k.reason}`, 'CANNOT');
      // Keywords go to the store as written: it compares them lower-case and remembers the spelling.
      keywords.push(flag.startsWith('\\') ? k.keyword : flag);
    }
    // RFC 4314 §4: s for \Seen, t for \Deleted, w for the rest; FLAGS replaces them all.
    const touched = cmd.mode === 'set' ? ['$seen', '$deleted', 'other'] : keywords;
    const refused = refuseWithout(box.rights, [...new Set(touched.map(rightForKeyword))].join(''), 'STORE');
    if (refused) return refused;
    const seqs = targetSeqs(box, cmd.set, cmd.uid);
    const uids = seqs.map((s) => box.uidAt(s));
    if (!uids.length) return ok('STORE completed');
    const r = await ctx.deps.mail.storeKeywords(box.accountId, box.id, uids, cmd.mode, keywords, {
      ...(box.reader !== undefined ? { viewer: box.reader } : {}),
      ...(cmd.unchangedSince !== null ? { unchangedSince: cmd.unchangedSince } : {}),
    });
    for (const u of r.updated) box.noteStored(u.uid, u.keywords, u.modseq);
    await announceKeywords(
      ctx,
      box,
      r.updated.map((u) => u.keywords),
    );
    const failed = new Set(r.failed);
    const updated = new Set(r.updated.map((u) => u.uid));
    const condstore = ctx.condstore;
    let out = '';
    for (const seq of seqs) {
      const uid = box.uidAt(seq);
      if (failed.has(uid)) continue;
      // RFC 7162 §3.1: once CONDSTORE is in use, STORE's FETCH responses carry UID and MODSEQ.
      const extra = `${(cmd.uid || condstore) && !ctx.uidOnly ? ` UID ${uid}` : ''}${condstore ? ` MODSEQ (${box.modseqAt(seq)})` : ''}`;
      const open = fetchOpen(ctx.uidOnly, seq, uid);
      if (!cmd.silent) out += `${open}FLAGS ${messageFlags(box, seq, !ctx.rev2)}${extra})\r\n`;
      // RFC 7162 §3.1.3: even with .SILENT a CONDSTORE client learns the new MODSEQ.
      else if (condstore && updated.has(uid)) out += `${open}${extra.trim()})\r\n`;
    }
    if (out) ctx.send(out);
    if (r.failed.length) {
      const set = cmd.uid ? r.failed : r.failed.map((u) => box.seqOf(u)).filter(Boolean);
      return ok('Conditional STORE failed for some messages', `MODIFIED ${formatSequenceSet(set)}`);
    }
    return ok('STORE completed');
  },
});
