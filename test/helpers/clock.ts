import type { WaitClock } from '../../src/core/clock.ts';

/** A clock whose `sleep` returns at once, moves time forward and records each wait. */
export class FakeClock implements WaitClock {
  #now: number;
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2026, 10, 2, 9, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += ms;
  }
}
