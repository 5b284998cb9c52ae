import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative pacing for long command work (LIST over many mailboxes, SEARCH over a large mailbox):
 * the work counts its steps and, when `due()` says so, awaits `turn()`, which gives the event loop
 * a turn, so one client's command never holds up other sessions for long. `limit` bounds the
 * whole command; past it `exhausted` is true and the command answers NO [LIMIT].
 */
export class Pace {
  readonly #every: number;
  readonly #limit: number;
  #since = 0;
  /** Steps counted so far (work may add to it directly, as a `StepMeter`). */
  steps = 0;

  constructor(every: number, limit = Number.POSITIVE_INFINITY) {
    this.#every = every;
    this.#limit = limit;
  }

  get exhausted(): boolean {
    return this.steps > this.#limit;
  }

  /** Counts `n` more steps; true when enough work was done since the last turn. */
  due(n = 0): boolean {
    this.steps += n;
    return this.steps - this.#since >= this.#every;
  }

  /** Lets the event loop run other work, then continues. */
  async turn(): Promise<void> {
    this.#since = this.steps;
    await nextTurn();
  }
}
