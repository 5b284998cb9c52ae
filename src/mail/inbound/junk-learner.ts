import type { Logger } from '../../core/log.ts';
import type { RspamdClient } from './rspamd.ts';

export interface JunkLearnerOptions {
  readonly rspamd: RspamdClient;
  /** The stored bytes of messages (by account and id). */
  readonly read: (accountId: number, messageIds: readonly number[]) => Promise<Buffer[]>;
  readonly logger: Logger;
  /** Lessons waiting at most; more are dropped (learning is best effort, mail is never held). */
  readonly maxPending?: number;
}

/**
 * Teaches rspamd's classifier from what users sort: a message filed into Junk is learned as spam
 * (`/learnspam`), one taken out of Junk as ham (`/learnham`). One lesson at a time, a bounded
 * backlog, failures logged and dropped.
 */
export class JunkLearner {
  readonly #o: JunkLearnerOptions;
  readonly #queue: { accountId: number; ids: readonly number[]; kind: 'spam' | 'ham' }[] = [];
  #running = false;
  /** Lessons rspamd accepted (for tests and logs). */
  learned = 0;

  constructor(options: JunkLearnerOptions) {
    this.#o = options;
  }

  /** Queues a lesson (the store's `onJunkSorted` listener). */
  sorted = (accountId: number, ids: readonly number[], kind: 'spam' | 'ham'): void => {
    if (this.#queue.length >= (this.#o.maxPending ?? 100)) {
      this.#o.logger.warn({ accountId, kind }, 'spam learning backlog full, lesson dropped');
      return;
    }
    this.#queue.push({ accountId, ids: ids.slice(0, 100), kind });
    void this.#drain();
  };

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
        let messages: Buffer[] = [];
        try {
          messages = await this.#o.read(job.accountId, job.ids);
        } catch (err) {
          this.#o.logger.warn({ err: (err as Error).message }, 'spam learning: message unreadable');
        }
        for (const raw of messages) {
          try {
            await this.#o.rspamd.learn(job.kind, raw);
            this.learned++;
          } catch (err) {
            this.#o.logger.warn({ accountId: job.accountId, kind: job.kind, err: (err as Error).message }, 'spam learning failed');
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
