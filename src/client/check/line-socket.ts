import net from 'node:net';
import tls from 'node:tls';

/**
 * A CRLF line reader over TCP or TLS with in-place STARTTLS, for the short scripted dialogues of
 * `fingerpost check`. Lines are read with a deadline; anything the server sends after the STARTTLS
 * answer and before the handshake is discarded (RFC 3207 §4.2, RFC 9051 §6.2.1).
 */
export class LineSocket {
  #socket: net.Socket;
  #buf = '';
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  readonly host: string;
  readonly timeoutMs: number;

  private constructor(socket: net.Socket, host: string, timeoutMs: number) {
    this.#socket = socket;
    this.host = host;
    this.timeoutMs = timeoutMs;
    this.#attach(socket);
  }

  #attach(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', (err) => {
      this.#error = err;
      this.#wake?.();
    });
  }

  /** Connects with implicit TLS (certificate checked for `host`) or in the clear for STARTTLS. */
  static connect(host: string, port: number, implicitTls: boolean, timeoutMs = 15_000): Promise<LineSocket> {
    return new Promise((resolve, reject) => {
      const servername = net.isIP(host) ? undefined : host;
      const socket = implicitTls ? tls.connect({ host, port, servername, minVersion: 'TLSv1.2' }) : net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
      socket.once(implicitTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LineSocket(socket, host, timeoutMs));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Upgrades the connection to TLS (after the server accepted STARTTLS/STLS). */
  async startTls(): Promise<void> {
    this.#buf = '';
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const servername = net.isIP(this.host) ? undefined : this.host;
    this.#socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, servername, minVersion: 'TLSv1.2' });
      s.once('secureConnect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', reject);
    });
    this.#attach(this.#socket);
  }

  write(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  /** The next line without CRLF; throws on timeout, error or close. */
  async line(): Promise<string> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const i = this.#buf.indexOf('\n');
      if (i >= 0) {
        const l = this.#buf.slice(0, i).replace(/\r$/, '');
        this.#buf = this.#buf.slice(i + 1);
        return l;
      }
      if (this.#error) throw this.#error;
      if (this.#closed) throw Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' });
      const left = deadline - Date.now();
      if (left <= 0) throw Object.assign(new Error('the server did not answer in time'), { code: 'ETIMEDOUT' });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
