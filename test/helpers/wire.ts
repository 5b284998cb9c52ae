import net from 'node:net';
import tls from 'node:tls';

/** A line-oriented test client over TCP or TLS for talking to mail protocols by hand. */
export class LineClient {
  readonly socket: net.Socket;
  #buf = '';
  #waiters: Array<() => void> = [];
  closed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** `localAddress` picks the client's source address (any 127.x.y.z works on loopback). */
  static connect(port: number, options: { tls?: boolean; ca?: string; host?: string; localAddress?: string } = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const host = options.host ?? '127.0.0.1';
      const local = options.localAddress ? { localAddress: options.localAddress } : {};
      const s = options.tls
        ? tls.connect({ port, host, ca: options.ca, servername: 'localhost', ...local })
        : net.connect({ port, host, ...local });
      s.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits for the next CRLF-terminated line (without the CRLF); undefined when the peer closed. */
  async line(timeoutMs = 5000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return l;
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line; have ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Reads lines until one matches `pattern`; returns them all. */
  async until(pattern: RegExp, timeoutMs = 5000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l === undefined) throw new Error(`closed before ${pattern}; got ${JSON.stringify(lines)}`);
      lines.push(l);
      if (pattern.test(l)) return lines;
    }
  }

  /** Waits until the server closes the connection. */
  async closedByPeer(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('peer did not close');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
