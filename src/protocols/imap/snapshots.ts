import type { ImapMailView } from '../../mail/views.ts';
import type { Mailbox } from '../../mail/types.ts';
import { type PackedEntries, packEntries } from './selected.ts';

/**
 * The entries (UID, flags, MODSEQ) of a mailbox as of its HIGHESTMODSEQ, shared by every SELECT of
 * that mailbox until something in it changes (every change raises HIGHESTMODSEQ, RFC 7162
 * §3.1.1). The mailbox row is read before the entries, so a snapshot is never older than its
 * key; a session that selects from it resynchronises from that MODSEQ like any other.
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
    const entries = this.#store.listEntries(mailbox.id).then(packEntries);
    this.#map.delete(mailbox.id);
    this.#map.set(mailbox.id, { modseq: mailbox.highestModseq, entries });
    entries.catch(() => this.#map.delete(mailbox.id));
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    return entries;
  }
}
