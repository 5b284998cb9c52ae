import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative yielding by time for long work on the event loop (a large CalDAV/CardDAV REPORT):
 * `due()` says when `ms` have passed since the last turn, and `turn()` lets other work run. Unlike
 * a step count, the slice stays short however costly each step is or however busy the machine.
 * It fits src/mail/paced-sort.ts's `Pacer`.
 */
export class TimeSlice {
  readonly #ms: number;
  readonly #now: () => number;
  #start: number;

  constructor(ms = 10, now: () => number = () => performance.now()) {
    this.#ms = ms;
    this.#now = now;
    this.#start = now();
  }

  /** True once the slice is used up. */
  due(): boolean {
    return this.#now() - this.#start >= this.#ms;
  }

  /** Gives the event loop a turn, then starts a new slice. */
  async turn(): Promise<void> {
    await nextTurn();
    this.#start = this.#now();
  }
}
