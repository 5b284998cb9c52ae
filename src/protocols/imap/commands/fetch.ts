import { emailObjectId, threadObjectId } from '../../../mail/object-ids.ts';
import { SELECTED } from '../state.ts';
import { bad, type CommandContext, command, no, ok, type Tagged } from '../context.ts';
import type { MessageInfo } from '../message-cache.ts';
import { messageFlags } from '../keyword-flags.ts';
import { binaryBytes, sectionBytes } from '../sections.ts';
import type { SelectedMailbox } from '../selected.ts';
import { partialSlice } from '../partial.ts';
import { fetchOpen } from '../uid-only.ts';
import { targetSeqs } from '../targets.ts';
import { formatDateTime } from '../wire/datetime.ts';
import { str } from '../wire/encoder.ts';
import { sectionLabel } from '../wire/parse-fetch.ts';
import { formatSequenceSet, inRanges, resolveRanges } from '../wire/sequence.ts';
import type { FetchItem } from '../wire/types.ts';

/** Messages per batch of cache loads and socket writes. */
const BATCH = 250;
const EMPTY = Buffer.alloc(0);

const INFO_ITEMS = new Set(['INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'EMAILID', 'THREADID', 'PREVIEW']);
const RAW_ITEMS = new Set(['BODY[]', 'BINARY[]', 'BINARY.SIZE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

function setsSeen(item: FetchItem): boolean {
  return ((item.kind === 'BODY[]' || item.kind === 'BINARY[]') && !item.peek) || item.kind === 'RFC822' || item.kind === 'RFC822.TEXT';
}

/** One FETCH response under construction: text with literal byte blocks in between. */
class Response {
  readonly chunks: Array<string | Buffer> = [];
  #text: string;
  #first = true;

  constructor(open: string) {
    this.#text = open;
  }

  item(text: string): void {
    this.#text += (this.#first ? '' : ' ') + text;
    this.#first = false;
  }

  literal(label: string, data: Buffer | null): void {
    if (data === null) {
      this.item(`${label} NIL`);
      return;
    }
    const nul = data.includes(0);
    const binary = nul && label.startsWith('BINARY');
    this.item(`${label} ${binary ? '~' : ''}{${data.length}}\r\n`);
    this.chunks.push(this.#text, nul && !binary ? withoutNul(data) : data);
    this.#text = '';
  }

  finish(): Array<string | Buffer> {
    this.chunks.push(`${this.#text})\r\n`);
    return this.chunks;
  }
}

/**
 * A normal literal cannot carry NUL (RFC 9051 §4.3). The store keeps NUL only where no transfer
 * encoding applies (a header, a preamble): there it becomes 0x80, so sizes and offsets still hold.
 */
function withoutNul(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

function partial(data: Buffer | null, p: { start: number; length: number } | null): Buffer | null {
  if (!data || !p) return data;
  return p.start >= data.length ? EMPTY : data.subarray(p.start, p.start + p.length);
}

/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5) with CONDSTORE CHANGEDSINCE / MODSEQ and QRESYNC VANISHED
 * (RFC 7162), BINARY (RFC 3516) and RFC 8474 ids. Flags, UIDs and MODSEQ come from the session;
 * sizes, dates, ENVELOPE and BODYSTRUCTURE from the message cache; only body sections read blobs.
 */
export const fetch = command({
  names: ['FETCH'],
  states: SELECTED,
  expungeAfter: (cmd) => cmd.uid,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const box = ctx.state.mailbox;
    if (cmd.vanished && !ctx.qresync) return bad('VANISHED needs ENABLE QRESYNC', 'CLIENTBUG');
    if (cmd.changedSince !== null || cmd.items.some((i) => i.kind === 'MODSEQ')) ctx.useCondstore();
    const items: FetchItem[] = [...cmd.items];
    // UID FETCH answers with UID (RFC 9051 §6.4.9); with QRESYNC every FETCH does (RFC 7162 §3.2.10).
    // Under UIDONLY the UIDFETCH response names the UID itself (RFC 9586 §3.3): no UID item is added.
    if (!ctx.uidOnly && (cmd.uid || ctx.qresync) && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
    if (cmd.changedSince !== null && !items.some((i) => i.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });

    let seqs = targetSeqs(box, cmd.set, cmd.uid);
    if (cmd.changedSince !== null) {
      const since = cmd.changedSince;
      seqs = seqs.filter((s) => box.modseqAt(s) > since);
    }
    // PARTIAL (RFC 9394 §3.2): only those positions of the messages the set (and CHANGEDSINCE) name.
    if (cmd.partial) seqs = partialSlice(seqs, cmd.partial);
    if (cmd.vanished && cmd.changedSince !== null && cmd.set.kind === 'ranges') {
      const ranges = resolveRanges(cmd.set, box.maxUid);
      const changes = await ctx.deps.mail.mailboxChanges(box.id, cmd.changedSince);
      const gone = changes.expunged.filter((uid) => inRanges(ranges, uid) && !box.seqOf(uid));
      if (gone.length) ctx.send(`* VANISHED (EARLIER) ${formatSequenceSet(gone)}\r\n`);
    }

    const flagsChanged = new Set<number>();
    // Without the s right a body fetch reads without setting \Seen (RFC 4314 §4).
    if (!box.readOnly && box.rights.includes('s') && items.some(setsSeen)) await markSeen(ctx, box, box.accountId, seqs, flagsChanged);

    const needInfo = items.some((i) => INFO_ITEMS.has(i.kind) || RAW_ITEMS.has(i.kind));
    const needRaw = items.some((i) => RAW_ITEMS.has(i.kind));
    let missing = false;
    let pending = '';
    for (let i = 0; i < seqs.length; i += BATCH) {
      const batch = seqs.slice(i, i + BATCH);
      const saved = items.some((it) => it.kind === 'SAVEDATE')
        ? await ctx.deps.mail.savedDates(
            box.id,
            batch.map((s) => box.uidAt(s)),
          )
        : null;
      const infos = needInfo
        ? await ctx.deps.cache.load(
            box.accountId,
            batch.map((s) => box.messageIdAt(s)),
          )
        : null;
      for (const seq of batch) {
        const info = infos?.get(box.messageIdAt(seq));
        if (infos && !info) {
          missing = true;
          continue;
        }
        let raw: Buffer | undefined;
        if (needRaw && info) {
          try {
            raw = await ctx.deps.mail.readRaw(info);
          } catch {
            missing = true;
            continue;
          }
        }
        const r = render(ctx, box, seq, items, info, raw, flagsChanged.has(seq), saved?.get(box.uidAt(seq)));
        if (typeof r === 'object' && 'status' in r) return r;
        // Coalesce text into large writes: one TLS record per ~64 KiB, not one per response.
        for (const chunk of r) {
          if (typeof chunk === 'string') pending += chunk;
          else {
            if (pending) ctx.send(pending);
            pending = '';
            ctx.send(chunk);
          }
        }
        if (pending.length > 65_536) {
          ctx.send(pending);
          pending = '';
        }
      }
      if (pending) ctx.send(pending);
      pending = '';
      await ctx.drain();
    }
    if (missing) return no('Some messages no longer exist', 'EXPUNGEISSUED');
    return ok(`${cmd.uid ? 'UID FETCH' : 'FETCH'} completed`);
  },
});

/** Sets \Seen on the messages a non-PEEK body fetch reads (RFC 9051 §6.4.5) before answering. */
async function markSeen(
  ctx: CommandContext,
  box: SelectedMailbox,
  accountId: number,
  seqs: readonly number[],
  changed: Set<number>,
): Promise<void> {
  const unseen = seqs.filter((s) => !box.keywordsAt(s).includes('$seen'));
  if (!unseen.length) return;
  const r = await ctx.deps.mail.storeKeywords(
    accountId,
    box.id,
    unseen.map((s) => box.uidAt(s)),
    'add',
    ['$seen'],
    box.reader !== undefined ? { viewer: box.reader } : {},
  );
  for (const u of r.updated) {
    box.noteStored(u.uid, u.keywords, u.modseq);
    const seq = box.seqOf(u.uid);
    if (seq) changed.add(seq);
  }
}

function render(
  ctx: CommandContext,
  box: SelectedMailbox,
  seq: number,
  items: readonly FetchItem[],
  info: MessageInfo | undefined,
  raw: Buffer | undefined,
  flagsChanged: boolean,
  savedAt: number | undefined,
): Array<string | Buffer> | Tagged {
  const res = new Response(fetchOpen(ctx.uidOnly, seq, box.uidAt(seq)));
  const utf8 = ctx.enc.utf8;
  let sentFlags = false;
  let sentUid = false;
  let sentModseq = false;
  for (const item of items) {
    switch (item.kind) {
      case 'FLAGS':
        res.item(`FLAGS ${messageFlags(box, seq, !ctx.rev2)}`);
        sentFlags = true;
        break;
      case 'UID':
        res.item(`UID ${box.uidAt(seq)}`);
        sentUid = true;
        break;
      case 'MODSEQ':
        res.item(`MODSEQ (${box.modseqAt(seq)})`);
        sentModseq = true;
        break;
      case 'INTERNALDATE':
        res.item(`INTERNALDATE "${formatDateTime(info!.receivedAt)}"`);
        break;
      case 'RFC822.SIZE':
        res.item(`RFC822.SIZE ${info!.size}`);
        break;
      case 'ENVELOPE':
        res.item(`ENVELOPE ${ctx.deps.cache.envelope(info!, utf8)}`);
        break;
      case 'BODYSTRUCTURE':
        res.item(`BODYSTRUCTURE ${ctx.deps.cache.structure(info!, true, utf8)}`);
        break;
      case 'BODY':
        res.item(`BODY ${ctx.deps.cache.structure(info!, false, utf8)}`);
        break;
      case 'EMAILID':
        res.item(`EMAILID (${emailObjectId(info!.id)})`);
        break;
      case 'THREADID':
        res.item(`THREADID (${threadObjectId(info!.threadId)})`);
        break;
      case 'PREVIEW':
        // RFC 8970: up to 256 characters of the first text part, computed at delivery (never NIL here).
        res.item(`PREVIEW ${str(info!.meta.preview, ctx.enc)}`);
        break;
      case 'SAVEDATE':
        // RFC 8514 §3: when the message was saved into this mailbox; NIL when not known.
        res.item(`SAVEDATE ${savedAt === undefined ? 'NIL' : `"${formatDateTime(savedAt)}"`}`);
        break;
      case 'RFC822':
        res.literal('RFC822', raw!);
        break;
      case 'RFC822.HEADER':
        res.literal('RFC822.HEADER', raw!.subarray(info!.meta.root.headerStart, info!.meta.root.bodyStart));
        break;
      case 'RFC822.TEXT':
        res.literal('RFC822.TEXT', raw!.subarray(info!.meta.root.bodyStart, info!.meta.root.bodyEnd));
        break;
      case 'BODY[]': {
        const data = sectionBytes(raw!, info!.meta.root, item.section) ?? EMPTY;
        const label = `BODY[${sectionLabel(item.section)}]${item.partial ? `<${item.partial.start}>` : ''}`;
        res.literal(label, partial(data, item.partial));
        break;
      }
      case 'BINARY[]': {
        const b = binaryBytes(raw!, info!.meta.root, item.part);
        if (!b.ok && b.reason === 'unknown-cte') return no('Unknown Content-Transfer-Encoding', 'UNKNOWN-CTE');
        const label = `BINARY[${item.part.join('.')}]${item.partial ? `<${item.partial.start}>` : ''}`;
        res.literal(label, b.ok ? partial(b.data, item.partial) : null);
        break;
      }
      case 'BINARY.SIZE': {
        const b = binaryBytes(raw!, info!.meta.root, item.part);
        if (!b.ok && b.reason === 'unknown-cte') return no('Unknown Content-Transfer-Encoding', 'UNKNOWN-CTE');
        res.item(`BINARY.SIZE[${item.part.join('.')}] ${b.ok ? b.data.length : 0}`);
        break;
      }
    }
  }
  if (flagsChanged) {
    // The implicit \Seen is a flag change: FLAGS, and with CONDSTORE UID and MODSEQ (RFC 7162 §3.1).
    if (!sentFlags) res.item(`FLAGS ${messageFlags(box, seq, !ctx.rev2)}`);
    if (ctx.condstore && !sentUid) res.item(`UID ${box.uidAt(seq)}`);
    if (ctx.condstore && !sentModseq) res.item(`MODSEQ (${box.modseqAt(seq)})`);
  }
  return res.finish();
}
