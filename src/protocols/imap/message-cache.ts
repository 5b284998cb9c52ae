import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ImapMailView } from '../../mail/views.ts';
import type { ParsedMessage } from '../../mail/mime/types.ts';
import { encodeBodyStructure, encodeEnvelope } from './wire/structure.ts';

/**
 * A process-wide bounded cache (oldest evicted first) of the immutable part of stored messages (size, INTERNALDATE, parsed
 * structure) and their encoded ENVELOPE/BODYSTRUCTURE, so FETCH of FLAGS UID RFC822.SIZE ENVELOPE
 * needs no blob reads and, warm, no queries at all. Keywords change and are never cached here.
 */

export interface MessageInfo {
  readonly id: number;
  readonly blobId: string;
  readonly size: number;
  readonly receivedAt: number;
  readonly threadId: number;
  readonly meta: ParsedMessage;
  /** Encoded forms, filled on first use: [rev1, utf8]. */
  envelope?: [string | undefined, string | undefined];
  bodystructure?: [string | undefined, string | undefined];
  body?: [string | undefined, string | undefined];
}

export class MessageCache {
  readonly #store: ImapMailView;
  readonly #max: number;
  readonly #entries = new Map<number, MessageInfo>();

  constructor(store: ImapMailView, maxEntries = 10_000) {
    this.#store = store;
    this.#max = maxEntries;
  }

  #remember(info: MessageInfo): void {
    this.#entries.delete(info.id);
    this.#entries.set(info.id, info);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** Loads the messages (by store id) of one account; ids the store does not know are absent. */
  async load(accountId: number, ids: readonly number[]): Promise<Map<number, MessageInfo>> {
    const out = new Map<number, MessageInfo>();
    const missing: number[] = [];
    for (const id of ids) {
      const hit = this.#entries.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      for (const m of await this.#store.getMessages(accountId, missing)) {
        const info: MessageInfo = {
          id: m.id,
          blobId: m.blobId,
          size: m.size,
          receivedAt: m.receivedAt,
          threadId: m.threadId,
          meta: m.meta,
        };
        this.#remember(info);
        out.set(m.id, info);
      }
    }
    return out;
  }

  /**
   * Loads many messages in batches, giving the event loop a turn between them: the store may be
   * synchronous (node:sqlite), and a 100,000-message SEARCH or SORT must not hold other sessions.
   */
  async loadPaced(accountId: number, ids: readonly number[], batch = 1000): Promise<Map<number, MessageInfo>> {
    const out = new Map<number, MessageInfo>();
    for (let i = 0; i < ids.length; i += batch) {
      for (const [id, info] of await this.load(accountId, ids.slice(i, i + batch))) out.set(id, info);
      if (i + batch < ids.length) await nextTurn();
    }
    return out;
  }

  /** ENVELOPE of a message, encoded once per string mode (RFC 9051 §7.5.2). */
  envelope(info: MessageInfo, utf8: boolean): string {
    info.envelope ??= [undefined, undefined];
    const i = utf8 ? 1 : 0;
    return (info.envelope[i] ??= encodeEnvelope(info.meta.envelope, { utf8 }));
  }

  /** BODYSTRUCTURE (`extended`) or BODY, encoded once per mode. */
  structure(info: MessageInfo, extended: boolean, utf8: boolean): string {
    const i = utf8 ? 1 : 0;
    if (extended) {
      info.bodystructure ??= [undefined, undefined];
      return (info.bodystructure[i] ??= encodeBodyStructure(info.meta.root, true, { utf8 }));
    }
    info.body ??= [undefined, undefined];
    return (info.body[i] ??= encodeBodyStructure(info.meta.root, false, { utf8 }));
  }

  /** Forgets a message (its last copy was destroyed). */
  forget(id: number): void {
    this.#entries.delete(id);
  }
}
