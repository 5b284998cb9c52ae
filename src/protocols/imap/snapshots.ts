import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Mailbox, MailboxEntry } from '../../mail/types.ts';
import type { ImapMailView } from '../../mail/views.ts';
import { internKeywords } from './flags.ts';
import type { PackedEntries } from './selected.ts';

/** Entries read per query when a mailbox is read whole, with a turn of the event loop between reads. */
const PAGE = 2000;

/**
 * The entries (UID, flags, MODSEQ) of a mailbox as of its HIGHESTMODSEQ, shared by every SELECT of
 * that mailbox until something in it changes (every change raises HIGHESTMODSEQ, RFC 7162
 * §3.1.1). The mailbox row is read before the entries, so a snapshot is never older than its
 * key; a session that selects from it resynchronises from that MODSEQ like any other. After a
 * change the next snapshot is the last one plus what changed since its MODSEQ (the CONDSTORE
 * change query, RFC 7162 §3.1.4); a mailbox is read whole only the first time, in pages.
 */
export class EntrySnapshots {
  readonly #store: ImapMailView;
  readonly #max: number;
  readonly #map = new Map<number, { readonly modseq: number; readonly entries: Promise<PackedEntries> }>();

  constructor(store: ImapMailView, maxMailboxes = 1000) {
    this.#store = store;
    this.#max = maxMailboxes;
  }

  /** The packed entries of `mailbox` (read just before) in UID order; shared, never mutate them. */
  entries(mailbox: Mailbox): Promise<PackedEntries> {
    const hit = this.#map.get(mailbox.id);
    if (hit && hit.modseq === mailbox.highestModseq) return hit.entries;
    const entries =
      hit && hit.modseq < mailbox.highestModseq
        ? hit.entries.then(
            (last) => this.#since(mailbox.id, last, hit.modseq),
            () => this.#read(mailbox.id),
          )
        : this.#read(mailbox.id);
    this.#map.delete(mailbox.id);
    this.#map.set(mailbox.id, { modseq: mailbox.highestModseq, entries });
    entries.catch(() => this.#map.delete(mailbox.id));
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    return entries;
  }

  /** The whole mailbox, a page at a time, each page packed before the next turn (never 100,000 entries in one run). */
  async #read(mailboxId: number): Promise<PackedEntries> {
    const uids: number[] = [];
    const messageIds: number[] = [];
    const modseqs: number[] = [];
    const keywords: Array<readonly string[]> = [];
    for (let after = 0; ; ) {
      const page = await this.#store.listEntriesAfter(mailboxId, after, PAGE);
      for (const e of page) {
        uids.push(e.uid);
        messageIds.push(e.messageId);
        modseqs.push(e.modseq);
        keywords.push(internKeywords(e.keywords));
      }
      if (page.length < PAGE) break;
      after = page.at(-1)!.uid;
      await nextTurn();
    }
    await nextTurn();
    return { uids: Uint32Array.from(uids), messageIds: Float64Array.from(messageIds), modseqs: Float64Array.from(modseqs), keywords };
  }

  /** `last` (as of `modseq`) with what changed since: expunged UIDs out, changed entries replaced, new ones appended. */
  async #since(mailboxId: number, last: PackedEntries, modseq: number): Promise<PackedEntries> {
    const changes = await this.#store.mailboxChanges(mailboxId, modseq);
    const gone = new Set(changes.expunged);
    const lastMax = last.uids.length ? last.uids[last.uids.length - 1]! : 0;
    const replaced = new Map<number, MailboxEntry>();
    const added: MailboxEntry[] = [];
    for (const e of changes.changed) {
      if (gone.has(e.uid)) continue;
      if (e.uid > lastMax) added.push(e);
      else replaced.set(e.uid, e);
    }
    const n = last.uids.length + added.length;
    const out = {
      uids: new Uint32Array(n),
      messageIds: new Float64Array(n),
      modseqs: new Float64Array(n),
      keywords: [] as Array<readonly string[]>,
    };
    let k = 0;
    for (let i = 0; i < last.uids.length; i++) {
      // A turn of the event loop every PAGE × 8 entries: other sessions go on while a large mailbox is copied.
      if (i % (PAGE * 8) === PAGE * 8 - 1) await nextTurn();
      const uid = last.uids[i]!;
      if (gone.has(uid)) continue;
      const e = replaced.get(uid);
      if (e) replaced.delete(uid);
      out.uids[k] = uid;
      out.messageIds[k] = e ? e.messageId : last.messageIds[i]!;
      out.modseqs[k] = e ? e.modseq : last.modseqs[i]!;
      out.keywords.push(e ? internKeywords(e.keywords) : last.keywords[i]!);
      k++;
    }
    // A changed entry below the last UID that the last snapshot did not hold: read the mailbox whole.
    if (replaced.size) return this.#read(mailboxId);
    for (const e of added) {
      out.uids[k] = e.uid;
      out.messageIds[k] = e.messageId;
      out.modseqs[k] = e.modseq;
      out.keywords.push(internKeywords(e.keywords));
      k++;
    }
    return {
      uids: out.uids.subarray(0, k),
      messageIds: out.messageIds.subarray(0, k),
      modseqs: out.modseqs.subarray(0, k),
      keywords: out.keywords,
    };
  }
}
