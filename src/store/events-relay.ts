import cluster, { type Worker } from 'node:cluster';
import type { EventRelay } from './events.ts';

const WAKE = 'fingerpost:events';

/**
 * The events table's wake-up between worker processes of one `serve --workers N` (node:cluster):
 * SQLite has no LISTEN/NOTIFY, so a worker that publishes tells the primary over IPC and the
 * primary tells the other workers, whose pollers read the table at once. Undefined outside a worker.
 */
export function workerEventRelay(): EventRelay | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  return {
    notify: () => {
      if (process.connected) process.send!({ type: WAKE });
    },
    subscribe(wake) {
      const onMessage = (m: unknown) => {
        if ((m as { type?: unknown } | null)?.type === WAKE) wake();
      };
      process.on('message', onMessage);
      return () => process.off('message', onMessage);
    },
  };
}

/** In the primary: passes each worker's wake-up on to every other live worker. Returns a stop function. */
export function relayEventsBetweenWorkers(): () => void {
  const onMessage = (from: Worker, m: unknown) => {
    if ((m as { type?: unknown } | null)?.type !== WAKE) return;
    for (const w of Object.values(cluster.workers ?? {})) if (w && w !== from && w.isConnected()) w.send({ type: WAKE });
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}
