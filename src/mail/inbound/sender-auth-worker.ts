import { parentPort, workerData } from 'node:worker_threads';
import type { DNSResolver } from 'mailauth';
import { CachingResolver, type CachingResolverOptions } from './dns-cache.ts';
import { checkSender, type SenderAuthInput } from './sender-auth.ts';

/**
 * The worker thread behind `SenderAuthThread` (sender-auth-thread.ts): runs the sender checks of
 * the messages it is sent, several at once (they mostly wait on DNS), with its own DNS cache, so
 * hashing a large body for DKIM never holds the main event loop.
 */
const data = workerData as { dns: CachingResolverOptions; authservId: string; timeoutMs: number };
const resolver = new CachingResolver(data.dns);

parentPort?.on('message', (job: { id: number; input: Omit<SenderAuthInput, 'message'> & { message: Uint8Array } }) => {
  const message = Buffer.from(job.input.message.buffer, job.input.message.byteOffset, job.input.message.byteLength);
  checkSender(
    { ...job.input, message },
    { authservId: data.authservId, resolver: resolver.resolve as DNSResolver, timeoutMs: data.timeoutMs },
  ).then(
    (result) => parentPort!.postMessage({ id: job.id, result }),
    (err: Error) => parentPort!.postMessage({ id: job.id, error: err.message }),
  );
});
