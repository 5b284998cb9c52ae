import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { OutboundQueue } from '../mail/queue/queue.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function messageId(value: string): number {
  if (!/^\d+$/.test(value))
    throw new FingerpostError('invalid_argument', `"${value}" is not a queue id`, { hint: 'see the ids in: fingerpost admin queue list' });
  return Number(value);
}

async function withQueue(opts: StoreOptions, fn: (queue: OutboundQueue) => Promise<void>): Promise<void> {
  const config = configFrom(opts);
  const services = await openCliServices(config);
  try {
    await fn(new OutboundQueue(services.db, services.blobs, { maxAgeMs: config.queue.max_age }));
  } finally {
    await services.close();
  }
}

/** `fingerpost admin queue list|retry|remove`: the outbound queue, straight on the store (also while the server runs). */
export function registerAdminQueue(admin: Command): void {
  const queue = admin.command('queue').description('outbound mail waiting for delivery');
  withStoreOptions(queue.command('list').description('list queued messages and the state of each recipient')).action(
    action(async (opts: StoreOptions) =>
      withQueue(opts, async (q) => {
        const rows = (await q.list()).flatMap((m) =>
          m.recipients.map((r) => [
            String(m.id),
            m.sender || '<>',
            r.recipient,
            r.status,
            String(r.attempts),
            r.status === 'queued' ? iso(r.nextAttemptAt) : '-',
            (r.lastError ?? '').slice(0, 60),
          ]),
        );
        printTable(['ID', 'FROM', 'TO', 'STATUS', 'TRIES', 'NEXT', 'LAST ERROR'], rows);
      }),
    ),
  );
  withStoreOptions(queue.command('retry').description('try queued messages again now (one, or all without an id)'))
    .argument('[id]')
    .action(
      action(async (id: string | undefined, opts: StoreOptions) =>
        withQueue(opts, async (q) => {
          const n = await q.retryNow(id === undefined ? undefined : messageId(id));
          process.stdout.write(`${n} recipient(s) due now; the server delivers them at its next queue pass\n`);
        }),
      ),
    );
  withStoreOptions(queue.command('remove').description('delete a queued message without delivering or bouncing it'))
    .argument('<id>')
    .action(
      action(async (id: string, opts: StoreOptions) =>
        withQueue(opts, async (q) => {
          await q.remove(messageId(id));
          process.stdout.write(`removed queued message ${id}\n`);
        }),
      ),
    );
}
