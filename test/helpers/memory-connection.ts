import { type Duplex, duplexPair } from 'node:stream';
import { Connection, type ListenerInfo } from '../../src/net/connection.ts';
import type { TlsMaterial } from '../../src/net/tls.ts';

/**
 * A `Connection` over an in-memory duplex pair: the session under test reads and writes one end,
 * the test the other (`peer`, which `tls.connect({ socket: peer })` can upgrade after STARTTLS).
 * No port is bound.
 */
export function memoryConnection(listener: ListenerInfo, material: TlsMaterial): { conn: Connection; peer: Duplex } {
  const [server, peer] = duplexPair();
  const conn = new Connection(server, listener, { remoteAddress: '192.0.2.10', remotePort: 50_000, localPort: listener.port }, material);
  return { conn, peer };
}

/** Reads CRLF lines from a duplex stream. */
export class StreamLines {
  readonly #lines: string[] = [];
  #buf = '';
  #wake: (() => void) | undefined;
  #ended = false;

  readonly #stream: Duplex;
  readonly #onData = (d: Buffer): void => {
    this.#buf += d.toString('latin1');
    for (let i = this.#buf.indexOf('\r\n'); i >= 0; i = this.#buf.indexOf('\r\n')) {
      this.#lines.push(this.#buf.slice(0, i));
      this.#buf = this.#buf.slice(i + 2);
    }
    this.#wake?.();
  };

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on('data', this.#onData);
    stream.on('end', () => {
      this.#ended = true;
      this.#wake?.();
    });
    stream.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /** Stops reading (before the stream is handed to a TLS client). */
  stop(): void {
    this.#stream.off('data', this.#onData);
  }

  /** The next line; undefined once the stream ended. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Lines up to and including the first that matches `pattern`. */
  async until(pattern: RegExp): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const line = await this.next();
      if (line === undefined) throw new Error(`ended before ${pattern}: ${JSON.stringify(out)}`);
      out.push(line);
      if (pattern.test(line)) return out;
    }
  }
}
