/** One piece of work in progress: a protocol command or an HTTP request. */
export interface Activity {
  /** `imap`, `pop3`, `smtp`, `http`… */
  readonly protocol: string;
  /** The command or route, never its arguments (they may carry secrets). */
  readonly what: string;
  /** Session or connection id, for finding the rest in the log. */
  readonly session?: string;
  readonly since: number;
  /** When it finished; undefined while it runs. */
  ended?: number;
}

/** Finished activities remembered, so one that held the event loop and then ended can still be named. */
const RECENT = 32;

/**
 * What the process is working on. Protocols mark each command while it runs, so the watchdog
 * (core/watchdog.ts) can say what was running when the event loop stalled.
 */
export class ActivityRegistry {
  readonly #running = new Set<Activity>();
  readonly #recent: Activity[] = [];
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Marks the start of some work; call the returned function when it ends (more calls do nothing). */
  begin(protocol: string, what: string, session?: string): () => void {
    const activity: Activity = { protocol, what, since: this.#now(), ...(session ? { session } : {}) };
    this.#running.add(activity);
    return () => {
      if (!this.#running.delete(activity)) return;
      activity.ended = this.#now();
      this.#recent.push(activity);
      if (this.#recent.length > RECENT) this.#recent.shift();
    };
  }

  /** Activities that were running at any time since `from` (still running, or ended after it), oldest first. */
  during(from: number, limit = 10): Activity[] {
    const out = [...this.#running, ...this.#recent.filter((a) => (a.ended ?? 0) >= from && a.since <= this.#now())];
    return out.sort((a, b) => a.since - b.since).slice(0, limit);
  }

  /** The process's clock for `since` and `ended` (milliseconds, monotonic). */
  now(): number {
    return this.#now();
  }
}

/** The process-wide registry every protocol reports to. */
export const activities = new ActivityRegistry();
