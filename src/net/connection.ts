import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { randomId } from '../core/ids.ts';
import { serverTlsOptions, type TlsMaterial } from './tls.ts';

/** What a protocol handler knows about its listener. */
export interface ListenerInfo {
  /** e.g. `imap`, `imaps`, `submission`, `submissions`, `smtp`, `pop3`, `pop3s`. */
  readonly name: string;
  readonly protocol: 'imap' | 'pop3' | 'smtp' | 'submission' | 'managesieve' | 'http';
  readonly implicitTls: boolean;
  readonly port: number;
}

/**
 * One client connection as protocol handlers see it. The socket is replaced in place by STARTTLS;
 * the peer address is the one a PROXY header reported, when one was accepted. Any duplex stream
 * serves as the socket, so a session can be tested over an in-memory pair with no port.
 */
export class Connection {
  readonly id = randomId('c');
  readonly listener: ListenerInfo;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client connected to (the PROXY header's destination behind a proxy); may be empty. */
  readonly localAddress: string;
  readonly localPort: number;
  socket: Duplex;
  #tls: TlsMaterial;
  #closed = false;
  readonly #onSignedIn: (() => void) | undefined;

  constructor(
    socket: Duplex,
    listener: ListenerInfo,
    peer: { remoteAddress: string; remotePort: number; localAddress?: string; localPort: number },
    material: TlsMaterial,
    onSignedIn?: () => void,
  ) {
    this.socket = socket;
    this.listener = listener;
    this.remoteAddress = peer.remoteAddress;
    this.remotePort = peer.remotePort;
    this.localAddress = peer.localAddress ?? '';
    this.localPort = peer.localPort;
    this.#tls = material;
    this.#onSignedIn = onSignedIn;
  }

  /**
   * The session signed in: the listener moves the connection out of the pre-login share of the
   * connection limits and from the pre-login to the idle timeout (net/limits.ts).
   */
  signedIn(): void {
    this.#onSignedIn?.();
  }

  /** True once TLS protects the connection (implicit or after STARTTLS). */
  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted === true;
  }

  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /** TLS protocol and cipher, for the Received: header and logs. */
  tlsInfo(): { protocol: string; cipher: string } | undefined {
    if (!(this.socket instanceof tls.TLSSocket)) return undefined;
    return { protocol: this.socket.getProtocol() ?? '', cipher: this.socket.getCipher()?.name ?? '' };
  }

  write(data: string | Uint8Array): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Writes a final line (if any) and closes the connection once it is flushed. */
  end(data?: string | Uint8Array): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.socket.destroyed) return;
    if (data !== undefined) this.socket.end(data);
    else this.socket.end();
    // A peer that never reads must not keep the socket alive.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  /**
   * Upgrades to TLS (RFC 3207 / RFC 9051 §6.2.1 / RFC 2595): the handshake alone. Sessions call
   * `upgradeTls` (net/upgrade-tls.ts), which first drops what was pipelined after the command (the
   * command-injection defence) and detaches their input, and re-attaches it to `this.socket` after.
   */
  startTls(timeoutMs: number): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = new tls.TLSSocket(plain, { ...serverTlsOptions(this.#tls), isServer: true });
    this.socket = secure;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new Error('TLS handshake timed out'));
      }, timeoutMs);
      secure.once('secure', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}
