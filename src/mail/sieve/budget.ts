import { SieveError } from './errors.ts';

/**
 * The work one script run may do, counted in character comparisons and command steps, so a
 * hostile script or message ends with a runtime error (and the implicit keep, RFC 5228 §2.10.6)
 * instead of holding the delivery.
 */
export class Budget {
  #left: number;

  constructor(steps: number) {
    this.#left = steps;
  }

  /** Takes `n` steps, or throws when the budget is spent. */
  spend(n: number): void {
    this.#left -= n;
    if (this.#left < 0) throw new SieveError('script used more than its CPU budget');
  }
}
