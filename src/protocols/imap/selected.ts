import type { Mailbox, MailboxEntry } from '../../mail/types.ts';
import { ALL_RIGHTS } from '../../mail/sharing/rights.ts';
import { internKeywords, type KeywordNames } from './flags.ts';
import type { SearchContext } from './search-contexts.ts';

/**
 * The selected mailbox as one session sees it (RFC 9051 §2.3.1): the sequence-number ↔ UID map
 * and each message's keywords and MODSEQ, kept in parallel arrays so idle sessions stay small.
 * `apply` merges what the store reports changed and returns the untagged updates to send; the
 * session's view only moves when those updates reach the client.
 */

export interface MailboxUpdate {
  /** UIDs expunged, ascending (EXPUNGE by sequence number, or VANISHED). */
  readonly expunged: readonly number[];
  /** The sequence number each EXPUNGE response carries, in sending order (each one renumbers the rest). */
  readonly expungedSeqs: readonly number[];
  /** New message count, when messages arrived. */
  readonly exists: number | null;
  /** Messages whose flags changed (and that the client already knows). */
  readonly changed: ReadonlyArray<{
    readonly seq: number;
    readonly uid: number;
    readonly keywords: readonly string[];
    readonly modseq: number;
  }>;
}

/**
 * Packed entries of a mailbox, built once per mailbox state and shared by every session that
 * selects it (copy-on-write: a session copies them the first time its view changes).
 */
export interface PackedEntries {
  readonly uids: Uint32Array;
  readonly messageIds: Float64Array;
  readonly modseqs: Float64Array;
  readonly keywords: ReadonlyArray<readonly string[]>;
}

/** Packs store entries (UID order) for sharing. */
export function packEntries(entries: readonly MailboxEntry[]): PackedEntries {
  const n = entries.length;
  const packed = {
    uids: new Uint32Array(n),
    messageIds: new Float64Array(n),
    modseqs: new Float64Array(n),
    keywords: new Array<readonly string[]>(n),
  };
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    packed.uids[i] = e.uid;
    packed.messageIds[i] = e.messageId;
    packed.modseqs[i] = e.modseq;
    packed.keywords[i] = internKeywords(e.keywords);
  }
  return packed;
}

type NumberList = number[] | Uint32Array | Float64Array;

export class SelectedMailbox {
  readonly id: number;
  /** The owning account: the session's own, or another's for a shared mailbox (RFC 4314). */
  readonly accountId: number;
  /** The session user when the mailbox is another account's: whose own \Seen the view shows and STORE sets (RFC 4314 §4). */
  readonly reader: number | undefined;
  /** The session user's rights on the mailbox (RFC 4314 §2.1); every right on their own, re-read on changes to a shared one. */
  rights: string;
  readonly name: string;
  readonly uidValidity: number;
  readonly readOnly: boolean;
  uidNext: number;
  /** Highest MODSEQ whose effects this session has seen (RFC 7162 §3.1.2.1). */
  knownModseq: number;
  /** Set by change notifications; `refresh` only hits the store when it is set. */
  dirty = false;
  /** `SEARCH RETURN (SAVE)` result, as UIDs (RFC 9051 §6.4.4.1). */
  saved: number[] = [];
  /** Keywords (lower-case, no system flags) the client was told about in FLAGS (RFC 9051 §7.3.5). */
  readonly shownKeywords = new Set<string>();
  /** The account's keyword spellings as of the last FLAGS announcement. */
  names: KeywordNames = new Map();
  /** UIDs that are \Recent in this session (IMAP4rev1, RFC 3501 §2.3.2): it was the first to see them. */
  readonly recent = new Set<number>();
  /** Live SEARCH/SORT results by command tag (RFC 5267 §4.3); they end with the selection. */
  readonly contexts = new Map<string, SearchContext>();

  /** Marks the UIDs of the view in [from, to) as \Recent for this session. */
  addRecent(from: number, to: number): void {
    const range = this.seqRangeOfUids(from, to - 1);
    if (range) for (let seq = range[0]; seq <= range[1]; seq++) this.recent.add(this.uidAt(seq));
  }
  #uids: NumberList;
  #messageIds: NumberList;
  #modseqs: NumberList;
  #keywords: Array<readonly string[]> | ReadonlyArray<readonly string[]>;
  #shared: boolean;

  constructor(
    mailbox: Mailbox,
    entries: readonly MailboxEntry[] | PackedEntries,
    readOnly: boolean,
    knownModseq: number,
    rights: string = ALL_RIGHTS,
    reader?: number,
  ) {
    this.id = mailbox.id;
    this.accountId = mailbox.accountId;
    this.reader = reader;
    this.rights = rights;
    this.name = mailbox.name;
    this.uidValidity = mailbox.uidValidity;
    this.uidNext = mailbox.uidNext;
    this.readOnly = readOnly;
    this.knownModseq = knownModseq;
    const packed = 'uids' in entries ? entries : packEntries(entries);
    this.#uids = packed.uids;
    this.#messageIds = packed.messageIds;
    this.#modseqs = packed.modseqs;
    this.#keywords = packed.keywords;
    this.#shared = true;
  }

  /** Copies the shared arrays before this session's view diverges. */
  #own(): void {
    if (!this.#shared) return;
    this.#uids = Array.from(this.#uids);
    this.#messageIds = Array.from(this.#messageIds);
    this.#modseqs = Array.from(this.#modseqs);
    this.#keywords = [...this.#keywords];
    this.#shared = false;
  }

  #push(e: MailboxEntry): void {
    this.#own();
    (this.#uids as number[]).push(e.uid);
    (this.#messageIds as number[]).push(e.messageId);
    (this.#modseqs as number[]).push(e.modseq);
    (this.#keywords as Array<readonly string[]>).push(internKeywords(e.keywords));
  }

  get exists(): number {
    return this.#uids.length;
  }

  uidAt(seq: number): number {
    return this.#uids[seq - 1]!;
  }

  messageIdAt(seq: number): number {
    return this.#messageIds[seq - 1]!;
  }

  modseqAt(seq: number): number {
    return this.#modseqs[seq - 1]!;
  }

  keywordsAt(seq: number): readonly string[] {
    return this.#keywords[seq - 1]!;
  }

  get maxUid(): number {
    return this.#uids.length ? this.#uids[this.#uids.length - 1]! : 0;
  }

  /** Sequence number of `uid`, or 0 when it is not in the view. Binary search. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.#uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.#uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Sequence numbers of UIDs inside [lo, hi] (for UID ranges). */
  seqRangeOfUids(lo: number, hi: number): [number, number] | null {
    let a = 0;
    let b = this.#uids.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (this.#uids[mid]! < lo) a = mid + 1;
      else b = mid;
    }
    let c = a;
    let d = this.#uids.length;
    while (c < d) {
      const mid = (c + d) >> 1;
      if (this.#uids[mid]! <= hi) c = mid + 1;
      else d = mid;
    }
    return a < c ? [a + 1, c] : null;
  }

  /** Records flags the session itself just changed, so later refreshes do not report them again. */
  noteStored(uid: number, keywords: readonly string[], modseq: number): void {
    const seq = this.seqOf(uid);
    if (!seq) return;
    this.#own();
    (this.#keywords as Array<readonly string[]>)[seq - 1] = internKeywords(keywords);
    this.#modseqs[seq - 1] = modseq;
  }

  /** Removes expunged UIDs the session itself asked for; returns their sequence numbers as EXPUNGE responses need them. */
  removeUids(uids: readonly number[]): number[] {
    this.#own();
    const gone = new Set(uids);
    const seqs: number[] = [];
    let removed = 0;
    const keep = (i: number) => !gone.has(this.#uids[i]!);
    const uidsOut: number[] = [];
    const idsOut: number[] = [];
    const modOut: number[] = [];
    const kwOut: Array<readonly string[]> = [];
    for (let i = 0; i < this.#uids.length; i++) {
      if (keep(i)) {
        uidsOut.push(this.#uids[i]!);
        idsOut.push(this.#messageIds[i]!);
        modOut.push(this.#modseqs[i]!);
        kwOut.push(this.#keywords[i]!);
      } else {
        this.recent.delete(this.#uids[i]!);
        // Each EXPUNGE renumbers the ones after it (RFC 9051 §7.5.1).
        seqs.push(i + 1 - removed);
        removed++;
      }
    }
    this.#uids = uidsOut;
    this.#messageIds = idsOut;
    this.#modseqs = modOut;
    this.#keywords = kwOut;
    return seqs;
  }

  /**
   * Merges the store's view: `entries` changed or added after `knownModseq`, `expunged` UIDs.
   * Returns what to tell the client. With `expungeAllowed` false (during FETCH/STORE/SEARCH by
   * sequence number, RFC 9051 §7.5.1), expunges and the arrivals after them wait for later.
   */
  apply(
    entries: readonly MailboxEntry[],
    expunged: readonly number[],
    highestModseq: number,
    expungeAllowed: boolean,
  ): MailboxUpdate | null {
    const gone = expunged.filter((uid) => this.seqOf(uid) > 0);
    if (gone.length && !expungeAllowed) return null;
    const expungedSeqs = gone.length ? this.removeUids(gone) : [];
    const changed: Array<{ seq: number; uid: number; keywords: readonly string[]; modseq: number }> = [];
    let arrived = false;
    const maxUid = this.maxUid;
    for (const e of entries) {
      if (e.uid > maxUid) {
        this.#push(e);
        arrived = true;
        continue;
      }
      const seq = this.seqOf(e.uid);
      if (!seq) continue;
      // A message's MODSEQ only grows (RFC 7162 §3.1.1): an entry no newer than the view's is old news.
      if (this.#modseqs[seq - 1]! >= e.modseq) continue;
      const kw = internKeywords(e.keywords);
      const flagsChanged = kw !== this.#keywords[seq - 1];
      this.#own();
      (this.#keywords as Array<readonly string[]>)[seq - 1] = kw;
      this.#modseqs[seq - 1] = e.modseq;
      if (flagsChanged) changed.push({ seq, uid: e.uid, keywords: kw, modseq: e.modseq });
    }
    if (highestModseq > this.knownModseq) this.knownModseq = highestModseq;
    const uidNext = Math.max(this.uidNext, this.maxUid + 1);
    this.uidNext = uidNext;
    if (!gone.length && !arrived && !changed.length) return { expunged: [], expungedSeqs: [], exists: null, changed: [] };
    return { expunged: gone, expungedSeqs, exists: arrived ? this.exists : null, changed };
  }
}
