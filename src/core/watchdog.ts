import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Activity, type ActivityRegistry, activities as processActivities } from './activity.ts';
import type { Logger } from './log.ts';

/** Event-loop delay over a recent window, as `/healthz` reports it. */
export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How much time the figures cover. */
  readonly windowMs: number;
}

export interface WatchdogOptions {
  readonly logger: Logger;
  /** A timer late by this much is a stall: logged with what was running. */
  readonly stallMs: number;
  /** Called for each stall (metrics). */
  readonly onStall?: (stalledMs: number) => void;
  readonly activities?: ActivityRegistry;
}

const TICK_MS = 100;
const WINDOW_MS = 60_000;
/** Sampling resolution of the delay histogram. */
const RESOLUTION_MS = 10;

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Watches the event loop of this process (one loop serves every protocol, so one request that
 * holds it stops everyone): the delay histogram (perf_hooks `monitorEventLoopDelay`) over the last
 * minute, and a log line for each stall naming the commands and requests that were running.
 */
export class LoopWatchdog {
  readonly #o: WatchdogOptions;
  readonly #activities: ActivityRegistry;
  #histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  #windowStart = 0;
  #previous: LoopDelay | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;

  constructor(options: WatchdogOptions) {
    this.#o = options;
    this.#activities = options.activities ?? processActivities;
  }

  start(): void {
    if (this.#timer) return;
    this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.#histogram.enable();
    this.#windowStart = this.#activities.now();
    this.#lastTick = this.#windowStart;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#histogram?.disable();
  }

  /** The delay over the current window, or the previous whole one while the current is young. */
  delay(): LoopDelay {
    const current = this.#current();
    if (this.#previous && current.windowMs < WINDOW_MS / 4) return this.#previous;
    return current;
  }

  #current(): LoopDelay {
    const h = this.#histogram;
    const windowMs = this.#activities.now() - this.#windowStart;
    if (!h || h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, windowMs };
    // The histogram holds the time between samples; what exceeds the resolution is the delay.
    const delay = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS));
    return { p50Ms: delay(h.percentile(50)), p99Ms: delay(h.percentile(99)), maxMs: delay(h.max), windowMs: Math.round(windowMs) };
  }

  #tick(): void {
    const now = this.#activities.now();
    const late = now - this.#lastTick - TICK_MS;
    const stallStart = this.#lastTick;
    this.#lastTick = now;
    if (late >= this.#o.stallMs) this.#report(late, stallStart, now);
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#previous = this.#current();
      this.#histogram?.reset();
      this.#windowStart = now;
    }
  }

  #report(stalledMs: number, from: number, now: number): void {
    this.#o.onStall?.(stalledMs);
    const running = this.#activities.during(from).map((a: Activity) => ({
      protocol: a.protocol,
      what: a.what,
      ...(a.session ? { session: a.session } : {}),
      for_ms: Math.round((a.ended ?? now) - a.since),
      ...(a.ended === undefined ? {} : { ended: true }),
    }));
    this.#o.logger.warn({ event: 'event_loop_stall', stalled_ms: Math.round(stalledMs), running }, 'event loop stalled');
  }
}
