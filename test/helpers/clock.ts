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

/** A clock that stands still until `advance` moves it; a `sleep` returns once its time has come (renewal timers). */
export class ManualClock implements WaitClock {
  #now: number;
  #sleepers: { until: number; resolve: () => void }[] = [];

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#sleepers.push({ until: this.#now + ms, resolve }));
  }

  /** Moves time forward by `ms` and wakes every sleep that is due. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const s of due) s.resolve();
  }
}
