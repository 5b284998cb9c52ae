// The shared part of the protocol fuzz runs (test/fuzz/*.test.ts): the seed (printed, replayable
// with FUZZ_SEED), the hostile shapes, a raw byte-level client that reads a line protocol's answers
// (skipping IMAP literals in them), the event-loop stall bound and the server's error-log capture.
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import { prng } from '../helpers/prng.ts';

/** The run's seed: FUZZ_SEED replays a failing run. */
export function fuzzSeed(fallback: number): number {
  const seed = Number(process.env.FUZZ_SEED ?? fallback);
  console.log(`# fuzz seed ${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}

/** Inputs per protocol; FUZZ_ROUNDS overrides (e.g. a longer run by hand). */
export function fuzzRounds(fallback: number): number {
  return Number(process.env.FUZZ_ROUNDS ?? fallback);
}

/** A random source with the helpers every generator needs. */
export class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Numbers past every boundary a parser might hold in a 32-bit, a double or a bigint. */
export const ABSURD_NUMBERS = [
  '0',
  '-1',
  '4294967295',
  '4294967296',
  '4294967297',
  '9007199254740991',
  '9007199254740993',
  '18446744073709551617',
  '99999999999999999999999999999999999999',
  '1e400',
  '0x10',
  '00000000000000000001',
  '340282366920938463463374607431768211457',
];

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, truncated, NUL. */
export const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0x80, 0x80, 0x80]),
  Buffer.from([0x00]),
  Buffer.from('a\x00b'),
];

/** One hostile token: the shapes an attack campaign sends to a text protocol. */
export function hostileToken(r: Rand): Buffer {
  switch (r.int(10)) {
    case 0:
      return Buffer.from(r.pick(ABSURD_NUMBERS));
    case 1:
      return Buffer.concat([Buffer.from('x'), r.pick(INVALID_UTF8), Buffer.from('y')]);
    case 2:
      return Buffer.from('('.repeat(1 + r.int(3000)));
    case 3:
      return Buffer.from(')'.repeat(1 + r.int(50)));
    case 4:
      return Buffer.from(`{${r.pick(ABSURD_NUMBERS)}${r.chance(0.5) ? '+' : ''}}`);
    case 5:
      return Buffer.from('*%'.repeat(1 + r.int(40)) + r.pick(['z', '', '/', '.']));
    case 6:
      return Buffer.from('"'.repeat(1 + r.int(3)));
    case 7:
      return r.bytes(1 + r.int(40));
    case 8:
      return Buffer.from('\\'.repeat(1 + r.int(10)));
    default:
      return Buffer.from(r.pick(['NIL', '[', ']', '<', '>', '.', ':', '*', '$', ',', '""', '=', '@', '<>', '%00']));
  }
}

/** Mutates a valid command: hostile tokens inserted or swapped in, pieces cut, truncated. */
export function mutate(r: Rand, command: string): Buffer {
  let out = Buffer.from(command);
  const steps = 1 + r.int(3);
  for (let i = 0; i < steps; i++) {
    const at = r.int(out.length + 1);
    switch (r.int(5)) {
      case 0:
        out = Buffer.concat([out.subarray(0, at), hostileToken(r), out.subarray(at)]);
        break;
      case 1: {
        // Replace the word at `at` with a hostile token.
        const sp = out.indexOf(0x20, at);
        out = Buffer.concat([out.subarray(0, at), hostileToken(r), sp < 0 ? Buffer.alloc(0) : out.subarray(sp)]);
        break;
      }
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(10)))]);
        break;
      case 3:
        out = out.subarray(0, at); // truncated
        break;
      default:
        out = Buffer.concat([out.subarray(0, at), r.pick(INVALID_UTF8), out.subarray(at)]);
    }
  }
  return out;
}

/**
 * Watches the event loop of this process (the server runs in it): `max()` is the most CPU time, in
 * milliseconds, the main thread spent between two turns of a 10 ms timer since `start` — how long
 * one stretch of work held the loop. Counting this thread's CPU rather than wall time means a
 * loaded machine that deschedules the process is not mistaken for a stall.
 */
export function loopWatch(): { max(): number; stop(): void } {
  const cpuMs = () => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) / 1000;
  };
  let last = cpuMs();
  let max = 0;
  const timer = setInterval(() => {
    const now = cpuMs();
    max = Math.max(max, now - last);
    last = now;
  }, 10);
  timer.unref();
  return {
    max: () => Math.max(max, cpuMs() - last),
    stop: () => clearInterval(timer),
  };
}

/** The stall bound the fuzz runs assert: generous, since a stall is seconds, not milliseconds. */
export const STALL_BOUND_MS = 2000;

/** A log sink for the server (JSON lines at level info and above) that keeps the errors it logged. */
export function errorLog(): { stream: NodeJS.WritableStream; errors(): string[] } {
  const stream = new PassThrough();
  const errors: string[] = [];
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      try {
        if ((JSON.parse(l) as { level?: number }).level! >= 50) errors.push(l);
      } catch {
        errors.push(l);
      }
    }
  });
  return { stream, errors: () => errors };
}

/** What a wait for an answer ended with. */
export type WaitEnd = 'match' | 'closed' | 'timeout';

/**
 * A byte-level client for line protocols: answers are split into CRLF lines (latin1, so any byte
 * shows), and with `literals` an IMAP line ending in `{n}` has its n literal bytes skipped.
 */
export class RawConn {
  readonly socket: net.Socket;
  readonly lines: string[] = [];
  #buf = Buffer.alloc(0);
  #skip = 0;
  #waiter: (() => void) | undefined;
  closed = false;
  readonly #literals: boolean;

  constructor(socket: net.Socket, literals: boolean) {
    this.socket = socket;
    this.#literals = literals;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#split();
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, options: { tls?: boolean; ca?: string; literals?: boolean } = {}): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = options.tls
        ? tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: 'localhost' })
        : net.connect({ port, host: '127.0.0.1' });
      s.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new RawConn(s, options.literals ?? false)));
      s.once('error', reject);
    });
  }

  #split(): void {
    for (;;) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, this.#buf.length);
        this.#buf = this.#buf.subarray(n);
        this.#skip -= n;
        if (this.#skip > 0) return;
      }
      const i = this.#buf.indexOf('\r\n');
      if (i < 0) return;
      const line = this.#buf.subarray(0, i).toString('latin1');
      this.#buf = this.#buf.subarray(i + 2);
      this.lines.push(line);
      const m = this.#literals ? /\{(\d+)\}$/.exec(line) : null;
      if (m) this.#skip = Number(m[1]);
    }
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  write(data: string | Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Waits until a line from index `from` on matches, the peer closes, or `ms` pass. */
  async waitFor(pattern: RegExp, from: number, ms: number): Promise<WaitEnd> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (pattern.test(this.lines[i]!)) return 'match';
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Describes an input for a failure message: its first bytes, escaped. */
export function show(input: Buffer): string {
  const s = JSON.stringify(input.subarray(0, 300).toString('latin1'));
  return input.length > 300 ? `${s}… (${input.length} bytes)` : s;
}

/** The checks every run ends with: no stall beyond the bound, nothing logged at error level. */
export function assertHealthy(watch: { max(): number }, log: { errors(): string[] }, seed: number): void {
  assert.ok(watch.max() < STALL_BOUND_MS, `event loop held ${watch.max().toFixed(0)} ms of CPU in one stretch (seed ${seed})`);
  assert.deepEqual(log.errors(), [], `the server logged errors (seed ${seed})`);
}
