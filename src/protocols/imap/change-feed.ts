import type { Mailbox, MailboxChanges, MailboxEntry } from '../../mail/types.ts';
import type { ImapMailView } from '../../mail/views.ts';

/**
 * One CONDSTORE change query (RFC 7162 §3.1.4) per mailbox per new HIGHESTMODSEQ, shared by every
 * session that has the mailbox selected: instead of each session asking the store for everything
 * changed since its own MODSEQ after every write, a feed keeps what changed since its `base` and
 * advances with one query from its `top` when a session reports a higher HIGHESTMODSEQ.
 *
 * What a session gets may hold more than it asked for: expunges older than its MODSEQ (UIDs are
 * never reused under one UIDVALIDITY, RFC 9051 §2.3.1.1, so a UID the view no longer holds is
 * ignored) and entries it already has (a message's MODSEQ only grows, so `SelectedMailbox.apply`
 * keeps the newer one). It never holds less: every change with a MODSEQ above `base` is in it.
 */
interface Feed {
  /** Every change with a MODSEQ above this is in the feed. */
  readonly base: number;
  /** The HIGHESTMODSEQ read before the last query: every change up to it was visible to that query. */
  top: number;
  /** The latest entry of each UID changed or added after `base` and not expunged since. */
  readonly entries: Map<number, MailboxEntry>;
  /** UIDs expunged after `base`. */
  readonly expunged: Set<number>;
  /** The query that advances the feed, while one runs. */
  advancing: Promise<void> | null;
}

export class ChangeFeeds {
  readonly #store: Pick<ImapMailView, 'mailboxChanges'>;
  readonly #maxMailboxes: number;
  readonly #maxChanges: number;
  readonly #feeds = new Map<string, Feed>();
  /** Store queries made, for tests and benchmarks. */
  queries = 0;

  constructor(store: Pick<ImapMailView, 'mailboxChanges'>, maxMailboxes = 1000, maxChanges = 5000) {
    this.#store = store;
    this.#maxMailboxes = maxMailboxes;
    this.#maxChanges = maxChanges;
  }

  /**
   * Changes of `mailboxId` after `since`, complete at least up to `highest` (the mailbox's
   * HIGHESTMODSEQ the caller read just before): entries in UID order, expunged UIDs ascending.
   * Feeds are kept per mailbox row and UIDVALIDITY, so a reused row id never sees another's feed.
   */
  async changes(mailbox: Pick<Mailbox, 'id' | 'accountId' | 'uidValidity'>, since: number, highest: number): Promise<MailboxChanges> {
    const mailboxId = mailbox.id;
    const key = `${mailbox.accountId}/${mailbox.id}/${mailbox.uidValidity}`;
    for (;;) {
      const feed = this.#feeds.get(key);
      if (!feed || since < feed.base) return this.#start(mailboxId, key, since);
      if (feed.top >= highest) return this.#view(feed, since);
      feed.advancing ??= this.#advance(mailboxId, key, feed);
      await feed.advancing;
      // The feed may have been dropped (too large, or the query failed): start over.
      if (this.#feeds.get(key) !== feed) return this.#start(mailboxId, key, since);
    }
  }

  /** A direct query; its answer becomes the mailbox's feed. */
  async #start(mailboxId: number, key: string, since: number): Promise<MailboxChanges> {
    this.queries++;
    const r = await this.#store.mailboxChanges(mailboxId, since);
    const current = this.#feeds.get(key);
    // Keep a feed that already covers more (a lower base) or is being advanced.
    if (!current || (current.base > since && !current.advancing)) {
      const feed: Feed = { base: since, top: r.highestModseq, entries: new Map(), expunged: new Set(r.expunged), advancing: null };
      for (const e of r.changed) feed.entries.set(e.uid, e);
      this.#keep(key, feed);
    }
    return r;
  }

  async #advance(mailboxId: number, key: string, feed: Feed): Promise<void> {
    try {
      this.queries++;
      const r = await this.#store.mailboxChanges(mailboxId, feed.top);
      for (const uid of r.expunged) {
        feed.entries.delete(uid);
        feed.expunged.add(uid);
      }
      for (const e of r.changed) {
        const had = feed.entries.get(e.uid);
        if (!feed.expunged.has(e.uid) && (!had || had.modseq <= e.modseq)) feed.entries.set(e.uid, e);
      }
      if (r.highestModseq > feed.top) feed.top = r.highestModseq;
      if (feed.entries.size + feed.expunged.size > this.#maxChanges) this.#feeds.delete(key);
    } catch {
      this.#feeds.delete(key);
    } finally {
      feed.advancing = null;
    }
  }

  #view(feed: Feed, since: number): MailboxChanges {
    const changed: MailboxEntry[] = [];
    for (const e of feed.entries.values()) if (e.modseq > since) changed.push(e);
    changed.sort((a, b) => a.uid - b.uid);
    return { highestModseq: feed.top, changed, expunged: [...feed.expunged].sort((a, b) => a - b) };
  }

  #keep(key: string, feed: Feed): void {
    this.#feeds.delete(key);
    if (feed.entries.size + feed.expunged.size > this.#maxChanges) return;
    this.#feeds.set(key, feed);
    if (this.#feeds.size > this.#maxMailboxes) {
      const oldest = this.#feeds.keys().next();
      if (!oldest.done) this.#feeds.delete(oldest.value);
    }
  }
}
