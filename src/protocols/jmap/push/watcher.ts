import type { JmapServices } from '../context.ts';
import type { PushType } from '../state.ts';
import { changedTypes, currentStates, type TypeStates } from './state-change.ts';

/** Changes arriving within this window are announced together (bulk moves, imports). */
const COALESCE_MS = 25;

/**
 * Watches an account's change feed (the mail store's `watch`, fed by every protocol and other
 * nodes) and reports the types whose state moved since the last report (RFC 8620 §7).
 */
export class PushWatcher {
  readonly #services: JmapServices;
  readonly #accountId: number;
  readonly #types: readonly PushType[];
  readonly #onChange: (changed: TypeStates, all: TypeStates) => void;
  #last: TypeStates;
  #unwatch: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;

  constructor(
    services: JmapServices,
    accountId: number,
    types: readonly PushType[],
    last: TypeStates,
    onChange: (changed: TypeStates, all: TypeStates) => void,
  ) {
    this.#services = services;
    this.#accountId = accountId;
    this.#types = types;
    this.#last = last;
    this.#onChange = onChange;
  }

  get states(): TypeStates {
    return this.#last;
  }

  start(): void {
    this.#unwatch = this.#services.mail.watch(this.#accountId, () => this.#schedule());
  }

  /** Checks at once (a reconnect with an old Last-Event-ID). */
  check(): void {
    this.#schedule(0);
  }

  #schedule(delay = COALESCE_MS): void {
    if (this.#timer || !this.#unwatch) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#compare();
    }, delay);
  }

  async #compare(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      const now = await currentStates(this.#services, this.#accountId, this.#types);
      const changed = changedTypes(this.#last, now);
      this.#last = now;
      if (Object.keys(changed).length && this.#unwatch) this.#onChange(changed, now);
    } catch (err) {
      this.#services.logger.warn({ err: (err as Error).message }, 'push state check failed');
    } finally {
      this.#running = false;
      if (this.#again) {
        this.#again = false;
        this.#schedule();
      }
    }
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
