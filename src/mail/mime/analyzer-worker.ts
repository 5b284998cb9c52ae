import { parentPort } from 'node:worker_threads';
import { analyzeMessage } from './parse.ts';

/**
 * The worker thread behind `MessageAnalyzer` (analyzer.ts): parses the messages it is sent, one
 * at a time, so the main event loop never runs the MIME parse of a large message.
 */
parentPort?.on('message', (job: { id: number; raw: Uint8Array }) => {
  try {
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    parentPort!.postMessage({ id: job.id, result: analyzeMessage(raw) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
