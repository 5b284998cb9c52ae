import { Worker } from 'node:worker_threads';
import { FingerpostError } from '../../core/errors.ts';
import type { AnalyzedMessage, MessageParser } from '../types.ts';
import { analyzeMessage } from './parse.ts';

export interface AnalyzerOptions {
  /** Messages at least this large are parsed in the worker thread; smaller ones in place. */
  readonly offloadBytes?: number;
  /** A parse still running after this long ends the worker and fails that delivery. */
  readonly timeoutMs?: number;
}

interface Job {
  readonly id: number;
  readonly raw: Uint8Array;
  readonly resolve: (value: AnalyzedMessage) => void;
  readonly reject: (err: Error) => void;
}

/** Bytes copied per step into the worker's buffer: a 50 MB message never copies in one go. */
const COPY_STEP = 1024 * 1024;

/**
 * The mail store's parser (src/mail/types.ts): small messages are parsed in place, large ones in
 * one worker thread, in arrival order, so MIME parsing of a 50 MB message never holds the event
 * loop every protocol shares. The worker starts on first use and does not keep the process alive.
 */
export class MessageAnalyzer implements MessageParser {
  readonly #offload: number;
  readonly #timeoutMs: number;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  #current: (Job & { timer: NodeJS.Timeout }) | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: AnalyzerOptions = {}) {
    this.#offload = options.offloadBytes ?? 256 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  async analyze(raw: Buffer): Promise<AnalyzedMessage> {
    if (raw.length < this.#offload || this.#closed) return analyzeMessage(raw);
    // Shared memory goes to the worker as is; anything else as a copy made in steps, then
    // transferred (moved, not cloned again).
    let bytes: Uint8Array = raw;
    if (!(raw.buffer instanceof SharedArrayBuffer)) {
      const copy = Buffer.allocUnsafeSlow(raw.length);
      for (let at = 0; at < raw.length; at += COPY_STEP) {
        raw.copy(copy, at, at, Math.min(raw.length, at + COPY_STEP));
        if (at + COPY_STEP < raw.length) await new Promise((r) => setImmediate(r));
      }
      bytes = copy;
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, raw: bytes, resolve, reject });
      this.#pump();
    });
  }

  /** Ends the worker: the parse it was running fails, what is queued is parsed in place instead. */
  close(): void {
    this.#closed = true;
    void this.#worker?.terminate();
    this.#worker = undefined;
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.reject(new FingerpostError('unavailable', 'the server is shutting down'));
    }
    for (const job of this.#queue.splice(0)) {
      try {
        job.resolve(analyzeMessage(Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength)));
      } catch (err) {
        job.reject(err as Error);
      }
    }
  }

  #start(): Worker {
    const worker = new Worker(new URL('./analyzer-worker.ts', import.meta.url));
    worker.unref();
    worker.on('message', (msg: { id: number; result?: AnalyzedMessage; error?: string }) => {
      const job = this.#current;
      if (!job || job.id !== msg.id) return;
      clearTimeout(job.timer);
      this.#current = undefined;
      if (msg.result) job.resolve(msg.result);
      else job.reject(new FingerpostError('internal', `message parse failed: ${msg.error ?? 'unknown error'}`));
      this.#pump();
    });
    worker.on('error', (err) => this.#fail(worker, err.message));
    worker.on('exit', (code) => this.#fail(worker, `parser worker exited (${code})`));
    return worker;
  }

  /** The worker died or hung: its job fails, the next job starts a new one. */
  #fail(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    const job = this.#current;
    this.#current = undefined;
    if (job) {
      clearTimeout(job.timer);
      job.reject(new FingerpostError('internal', `message parse failed: ${why}`));
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) return;
    this.#worker ??= this.#start();
    const worker = this.#worker;
    const timer = setTimeout(() => this.#fail(worker, `no result after ${this.#timeoutMs} ms`), this.#timeoutMs);
    timer.unref();
    this.#current = { ...job, timer };
    const shared = job.raw.buffer instanceof SharedArrayBuffer;
    worker.postMessage({ id: job.id, raw: job.raw }, shared ? [] : [job.raw.buffer]);
  }
}
