import type { WaitClock } from '../../core/clock.ts';

/** The shared failure counters (src/auth/limits/failures.ts) as the SMTP session uses them. */
export interface FailureCounter {
  /** Is this client refused right now (banned after too many failures of any kind)? */
  check(ip: string, account: string | undefined): { readonly allowed: boolean };
  /** Counts one failure; says how long to wait before answering it. */
  failure(ip: string, account: string | undefined): { readonly delayMs: number };
}

export interface HarvestGuardOptions {
  /** Unknown recipients answered `550` on one connection; the next one ends the session. */
  readonly maxUnknown: number;
  /** Pause before answering each unknown recipient. */
  readonly delayMs: number;
  readonly failures?: FailureCounter;
  readonly clock: WaitClock;
  /** Called for each unknown recipient (metrics). */
  readonly onUnknown?: () => void;
}

/**
 * Slows down and stops directory harvesting over RCPT TO (RFC 5321 §7.8 lets a server refuse to
 * confirm addresses): each unknown local recipient costs a pause and a failure in the shared
 * failure limits, and a connection that asks for too many is closed (`421`, RFC 5321 §3.8).
 */
export class HarvestGuard {
  readonly #o: HarvestGuardOptions;
  #unknown = 0;

  constructor(options: HarvestGuardOptions) {
    this.#o = options;
  }

  /** Before a RCPT: false when the client is banned by the failure limits. */
  allowed(remote: string): boolean {
    return this.#o.failures?.check(remote, undefined).allowed ?? true;
  }

  /** After a RCPT for an unknown address: waits, then says whether the session may go on. */
  async unknownRecipient(remote: string): Promise<'continue' | 'close'> {
    this.#unknown++;
    this.#o.onUnknown?.();
    const counted = this.#o.failures?.failure(remote, undefined);
    await this.#o.clock.sleep(Math.max(this.#o.delayMs, counted?.delayMs ?? 0));
    return this.#unknown > this.#o.maxUnknown ? 'close' : 'continue';
  }
}
