import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { FingerpostError } from '../../core/errors.ts';
import type { ImapMailView } from '../../mail/views.ts';
import type { SortCriterion, ThreadAlgorithm } from './wire/types.ts';

/** What the event loop asks of the sort thread's worker (sort-thread-worker.ts). */
export type SortRequest =
  | { readonly kind: 'pin'; readonly job: number; readonly ids: Float64Array }
  | {
      readonly kind: 'put';
      readonly job: number;
      readonly rows: ReadonlyArray<{ id: number; size: number; receivedAt: number; meta: string }>;
    }
  | { readonly kind: 'drop'; readonly job: number }
  | {
      readonly kind: 'sort';
      readonly job: number;
      readonly ids: Float64Array;
      readonly orders: Float64Array;
      readonly criteria: readonly SortCriterion[];
    }
  | {
      readonly kind: 'thread';
      readonly job: number;
      readonly ids: Float64Array;
      readonly numbers: Float64Array;
      readonly orders: Float64Array;
      readonly algorithm: ThreadAlgorithm;
    }
  | {
      readonly kind: 'address';
      readonly job: number;
      readonly ids: Float64Array;
      readonly field: 'from' | 'to' | 'cc' | 'bcc';
      readonly needle: string;
    };

/** An address match per message (SortThread.addressSearch): it matches, it does not, or no answer. */
export const ADDRESS_NO = 0;
export const ADDRESS_YES = 1;
/** The field holds no address, or the message is gone: the caller decides from the header text. */
export const ADDRESS_UNKNOWN = 2;

/** The worker's answers: the ids it has no fields for, a sort order, THREAD data, address matches, or a failure. */
export type SortReply =
  | { readonly job: number; readonly missing: Float64Array }
  | { readonly job: number; readonly order: Int32Array }
  | { readonly job: number; readonly data: string }
  | { readonly job: number; readonly matches: Uint8Array }
  | { readonly job: number; readonly error: string };

/** Messages read from the store per batch, with a turn of the event loop between batches. */
const BATCH = 250;

interface Waiting {
  readonly resolve: (r: SortReply) => void;
  readonly reject: (err: Error) => void;
}

/**
 * SORT (RFC 5256 §3, RFC 5957), THREAD (RFC 5256 §3) and SEARCH's address match (RFC 9051 §6.4.4)
 * in one worker thread, so ordering, threading and matching 100,000 messages never hold the event loop every session shares. The worker keeps the
 * sort fields of recently sorted messages (at most `maxEntries`, least recently used evicted); the
 * event loop reads the stored structure of the messages it lacks in small batches and hands it over. The
 * worker starts on first use and keeps the process alive only while a command waits on it.
 */
export class SortThread {
  readonly #store: Pick<ImapMailView, 'messageMeta'>;
  readonly #max: number;
  readonly #waiting = new Map<number, Waiting>();
  #worker: Worker | undefined;
  #nextJob = 1;

  constructor(store: Pick<ImapMailView, 'messageMeta'>, maxEntries = 200_000) {
    this.#store = store;
    this.#max = maxEntries;
  }

  /** Positions into `ids` of the messages still in the store, in SORT order (`orders`: sequence numbers, the tie-break). */
  async sort(accountId: number, ids: Float64Array, orders: Float64Array, criteria: readonly SortCriterion[]): Promise<Int32Array> {
    const job = await this.#prepare(accountId, ids);
    const r = await this.#ask(job, { kind: 'sort', job, ids, orders, criteria });
    if (!('order' in r)) throw new FingerpostError('internal', 'sort thread gave no order');
    return r.order;
  }

  /** The `* THREAD` data (RFC 5256 §4) of the messages `ids`, shown as `numbers`, ordered by `orders` on equal dates. */
  async thread(
    accountId: number,
    ids: Float64Array,
    numbers: Float64Array,
    orders: Float64Array,
    algorithm: ThreadAlgorithm,
  ): Promise<string> {
    const job = await this.#prepare(accountId, ids);
    const r = await this.#ask(job, { kind: 'thread', job, ids, numbers, orders, algorithm });
    if (!('data' in r)) throw new FingerpostError('internal', 'sort thread gave no threads');
    return r.data;
  }

  /**
   * SEARCH FROM/TO/CC/BCC (RFC 9051 §6.4.4) over the messages `ids`: per position ADDRESS_YES,
   * ADDRESS_NO or ADDRESS_UNKNOWN, matched in the worker on the address texts it keeps
   * (search-address.ts), so the event loop never parses a message's structure for it.
   */
  async addressSearch(accountId: number, ids: Float64Array, field: 'from' | 'to' | 'cc' | 'bcc', needle: string): Promise<Uint8Array> {
    const job = await this.#prepare(accountId, ids);
    const r = await this.#ask(job, { kind: 'address', job, ids, field, needle });
    if (!('matches' in r)) throw new FingerpostError('internal', 'sort thread gave no address matches');
    return r.matches;
  }

  /** Ends the worker; commands waiting on it fail, the next one starts a new worker. */
  close(): void {
    if (this.#worker) this.#fail(this.#worker, 'the server is shutting down');
  }

  /** Pins the fields the worker has for `ids` and gives it the ones it lacks; returns the job number. */
  async #prepare(accountId: number, ids: Float64Array): Promise<number> {
    const job = this.#nextJob++;
    const r = await this.#ask(job, { kind: 'pin', job, ids });
    if (!('missing' in r)) throw new FingerpostError('internal', 'sort thread did not pin');
    try {
      for (let i = 0; i < r.missing.length; i += BATCH) {
        const batch = Array.from(r.missing.subarray(i, i + BATCH));
        // The stored structure goes over as JSON text: the worker parses it, not the event loop.
        this.#post({ kind: 'put', job, rows: await this.#store.messageMeta(accountId, batch) });
        if (i + BATCH < r.missing.length) await nextTurn();
      }
    } catch (err) {
      this.#post({ kind: 'drop', job });
      throw err;
    }
    return job;
  }

  #post(msg: SortRequest): Worker {
    this.#worker ??= this.#start();
    this.#worker.postMessage(msg);
    return this.#worker;
  }

  #ask(job: number, msg: SortRequest): Promise<SortReply> {
    return new Promise<SortReply>((resolve, reject) => {
      this.#waiting.set(job, { resolve, reject });
      // Referenced while a command waits on it (an answer is due), never while idle.
      this.#post(msg).ref();
    }).then((r) => {
      if ('error' in r) throw new FingerpostError('internal', `sort thread failed: ${r.error}`);
      return r;
    });
  }

  #start(): Worker {
    const worker = new Worker(new URL('./sort-thread-worker.ts', import.meta.url), { workerData: { maxEntries: this.#max } });
    worker.unref();
    worker.on('message', (r: SortReply) => {
      const w = this.#waiting.get(r.job);
      if (!w) return;
      this.#waiting.delete(r.job);
      if (!this.#waiting.size) worker.unref();
      w.resolve(r);
    });
    worker.on('error', (err) => this.#fail(worker, err.message));
    worker.on('exit', (code) => this.#fail(worker, `sort worker exited (${code})`));
    return worker;
  }

  /** The worker died: what waits on it fails; the next command starts a new one (with an empty cache). */
  #fail(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    for (const [job, w] of this.#waiting) {
      this.#waiting.delete(job);
      w.reject(new FingerpostError('internal', `sort thread failed: ${why}`));
    }
  }
}
