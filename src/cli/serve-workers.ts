import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../core/log.ts';
import { relayEventsBetweenWorkers } from '../store/events-relay.ts';

/** The message a worker sends once its listeners are bound. */
export const READY = 'fingerpost:ready';

/** A listener as the banner names it. */
export interface BoundListener {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
}

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Every first-generation worker is listening: print the banner. */
  onReady(listeners: readonly BoundListener[], acmeHttpPort: number | undefined): void;
  /** A worker failed before the server ever came up (a port in use): undo the first start. */
  onFailedStart(): Promise<void>;
}

/** A worker that ends sooner than this after its start is restarted after a pause (a crash loop must not spin). */
const QUICK_EXIT_MS = 5_000;
const RESTART_PAUSE_MS = 1_000;

/**
 * The primary of `serve --workers N` (node:cluster): forks N workers that each run the whole
 * server on the shared store; the listening sockets are the primary's and connections are handed
 * out round-robin. A worker that dies is replaced (its connections are lost, nobody else's);
 * SIGTERM/SIGINT drain every worker and resolve once all have exited; SIGHUP is passed on.
 */
export async function runPrimary(o: PrimaryOptions): Promise<void> {
  const stopRelay = relayEventsBetweenWorkers();
  const started = new Map<Worker, number>();
  let stopping = false;
  let up = false;
  let ready = 0;
  const fork = () => started.set(cluster.fork(), Date.now());

  const outcome = new Promise<number>((resolve) => {
    const finishIfDone = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(process.exitCode === undefined ? 0 : Number(process.exitCode));
    };
    cluster.on('message', (_worker, m: { type?: unknown; listeners?: BoundListener[]; acmeHttpPort?: number }) => {
      if (m?.type !== READY || up) return;
      if (++ready === o.workers) {
        up = true;
        o.onReady(m.listeners ?? [], m.acmeHttpPort);
      }
    });
    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) {
        // A worker still starting has no handler yet and ends by the signal itself: nothing to drain.
        if (code !== 0 && signal !== 'SIGTERM') process.exitCode = 1;
        return finishIfDone();
      }
      if (!up) {
        // Start-up failed (the worker printed why): stop the others and report failure.
        stopping = true;
        process.exitCode = code || 1;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
        void o.onFailedStart().finally(finishIfDone);
        return;
      }
      o.logger.warn({ pid: worker.process.pid, exitCode: code, signal }, 'worker exited; starting another');
      if (lived < QUICK_EXIT_MS) setTimeout(() => stopping || fork(), RESTART_PAUSE_MS);
      else fork();
    });
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      o.logger.info({ signal }, 'draining every worker');
      const live = Object.values(cluster.workers ?? {});
      for (const w of live) w?.process.kill('SIGTERM');
      finishIfDone();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
    });
  });
  for (let i = 0; i < o.workers; i++) fork();
  const code = await outcome;
  stopRelay();
  process.exitCode = code;
}
