import { Worker } from 'node:worker_threads';
import type { CachingResolverOptions } from './dns-cache.ts';
import { type SenderAuthInput, type SenderAuthResult, timedOut } from './sender-auth.ts';

export interface SenderAuthThreadOptions {
  /** This server's authserv-id (RFC 8601 §2.5). */
  readonly authservId: string;
  /** DNS servers, timeouts and cache for the worker's resolver. */
  readonly dns: Omit<CachingResolverOptions, 'clock'>;
  /** Bound on the checks of one message (the worker's own bound, plus a grace before it is ended). */
  readonly timeoutMs: number;
}

interface Pending {
  readonly input: SenderAuthInput;
  readonly resolve: (r: SenderAuthResult) => void;
  readonly timer: NodeJS.Timeout;
}

/** Time past its own bound the worker gets before it is taken for stuck and ended. */
const GRACE_MS = 2000;

/**
 * Sender authentication (sender-auth.ts) in one worker thread: DKIM body hashes of large messages
 * and any slow path of the verifier run off the event loop every protocol shares, and the time
 * bound holds even when the work is CPU-bound (a stuck worker is ended and replaced). Resolves
 * with `temperror` results when the worker fails; never rejects.
 */
export class SenderAuthThread {
  readonly #o: SenderAuthThreadOptions;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;

  constructor(options: SenderAuthThreadOptions) {
    this.#o = options;
  }

  check(input: SenderAuthInput): Promise<SenderAuthResult> {
    return new Promise((resolve) => {
      const id = this.#nextId++;
      this.#worker ??= this.#start();
      const worker = this.#worker;
      const timer = setTimeout(() => this.#fail(worker, 'checks timed out'), this.#o.timeoutMs + GRACE_MS);
      timer.unref();
      this.#pending.set(id, { input, resolve, timer });
      const { message, ...rest } = input;
      // Shared memory (the SMTP spool's buffer) goes over without a copy; anything else is cloned.
      worker.postMessage({ id, input: { ...rest, message } });
    });
  }

  #start(): Worker {
    const worker = new Worker(new URL('./sender-auth-worker.ts', import.meta.url), {
      workerData: { dns: this.#o.dns, authservId: this.#o.authservId, timeoutMs: this.#o.timeoutMs },
    });
    worker.unref();
    worker.on('message', (msg: { id: number; result?: SenderAuthResult; error?: string }) => {
      const job = this.#pending.get(msg.id);
      if (!job) return;
      this.#pending.delete(msg.id);
      clearTimeout(job.timer);
      job.resolve(msg.result ?? timedOut(job.input, this.#o.authservId, 'checks failed'));
    });
    worker.on('error', () => this.#fail(worker, 'checks failed'));
    worker.on('exit', () => this.#fail(worker, 'checks failed'));
    return worker;
  }

  /** The worker died or is stuck: every check it holds reports temperror; the next check starts a new one. */
  #fail(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    for (const [id, job] of this.#pending) {
      clearTimeout(job.timer);
      job.resolve(timedOut(job.input, this.#o.authservId, why));
      this.#pending.delete(id);
    }
  }

  /** Ends the worker (shutdown); checks in flight report temperror. */
  close(): void {
    if (this.#worker) this.#fail(this.#worker, 'server shutting down');
  }
}
