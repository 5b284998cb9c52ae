import type https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { FingerpostError } from '../core/errors.ts';
import { answerAlpnChallenge } from './acme/alpn-responder.ts';
import { ipMatcher, normalizeIp } from './cidr.ts';
import { Connection, type ListenerInfo } from './connection.ts';
import type { ConnectionLimiter, ConnectionSlot } from './limits.ts';
import { parseProxyHeader } from './proxy-protocol.ts';
import { serverTlsOptions, type TlsMaterial } from './tls.ts';

const peers = new WeakMap<net.Socket, { remoteAddress: string; remotePort: number }>();
const httpSlots = new WeakMap<net.Socket, ConnectionSlot>();

/** The TCP socket under an HTTPS request's TLS socket. */
function rawOf(socket: net.Socket): net.Socket {
  return (socket as net.Socket & { _parent?: net.Socket })._parent ?? socket;
}

/**
 * The client address of an HTTPS request's socket: the PROXY-reported one when a header was
 * accepted, else the TCP peer. `socket` is the TLS socket the HTTP server sees.
 */
export function peerOf(socket: net.Socket): { remoteAddress: string; remotePort: number } {
  return peers.get(rawOf(socket)) ?? { remoteAddress: normalizeIp(socket.remoteAddress ?? ''), remotePort: socket.remotePort ?? 0 };
}

/**
 * HTTPS has no sign-in per connection: a connection that sent a complete request leaves the
 * pre-login pool of the connection limits (net/limits.ts). `socket` is the request's TLS socket.
 */
export function markHttpConnectionInUse(socket: net.Socket): void {
  httpSlots.get(rawOf(socket))?.promote();
}

/** A live protocol session as the listener sees it: something it can ask to close. */
export interface SessionHandle {
  /** Send the protocol's goodbye (IMAP BYE, SMTP 421, POP3 -ERR) and close. */
  close(reason: 'shutdown' | 'idle'): void;
}

/** What a protocol provides to a listener. */
export interface ProtocolHandler {
  accept(conn: Connection): SessionHandle;
  /** The line sent when a connection is refused (over the limit), already CRLF-terminated. */
  refusal(reason: 'total' | 'per_ip'): string;
}

export interface ListenerObserver {
  opened?(listener: string): void;
  closed?(listener: string): void;
  refused?(listener: string, reason: string): void;
  /** A connection that had not signed in was closed to make room for a new one. */
  evicted?(listener: string): void;
  /** A connection was closed for inactivity, before (`prelogin`) or after (`idle`) signing in. */
  timedOut?(listener: string, phase: 'prelogin' | 'idle'): void;
}

/** The inactivity and handshake limits of one listener (`limits.*` in docs/configuration.md). */
export interface ListenerTimeouts {
  readonly idleTimeoutMs: number;
  readonly preloginTimeoutMs?: number;
  readonly handshakeTimeoutMs: number;
}

export interface ListenerOptions {
  readonly info: Omit<ListenerInfo, 'port'>;
  readonly bind: string;
  readonly port: number;
  readonly tls: TlsMaterial;
  readonly limiter: ConnectionLimiter;
  readonly proxy: { readonly enabled: boolean; readonly from: readonly string[] };
  /** Inactivity allowed once signed in (and on HTTPS connections). */
  readonly idleTimeoutMs: number;
  /** Inactivity allowed before signing in; defaults to `idleTimeoutMs`. */
  readonly preloginTimeoutMs?: number;
  readonly handshakeTimeoutMs: number;
  /** A mail protocol, or an HTTPS server that takes the socket (it does TLS itself). */
  readonly handler: ProtocolHandler | { readonly https: https.Server };
  readonly observer?: ListenerObserver;
  /** Called for connection-level errors that are not the client's fault. */
  readonly onError?: (err: Error) => void;
}

/** A bound listener. */
export interface Listener {
  readonly info: ListenerInfo;
  /** Stops accepting, asks every session to say goodbye, and waits (bounded) for them to close. */
  close(graceMs?: number): Promise<void>;
  /** New timeouts (a SIGHUP reload) for connections accepted from now on; open ones keep theirs. */
  setTimeouts(t: ListenerTimeouts): void;
  readonly sessions: ReadonlySet<SessionHandle>;
}

/** The config key of a listener's port: `http.port` and `smtp.port` have no `tls_port` twin (docs/configuration.md). */
function portKey(info: Omit<ListenerInfo, 'port'>): string {
  const dual = info.protocol === 'imap' || info.protocol === 'pop3' || info.protocol === 'submission' || info.protocol === 'managesieve';
  return `${info.protocol}.${dual && info.implicitTls ? 'tls_port' : 'port'}`;
}

function readProxyHeader(
  socket: net.Socket,
  timeoutMs: number,
): Promise<{ remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('PROXY header timed out')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if (parsed.kind === 'incomplete') return;
      if (parsed.kind === 'invalid') return done(new Error(parsed.reason));
      done(undefined, {
        remoteAddress: parsed.address?.remoteAddress,
        remotePort: parsed.address?.remotePort,
        localAddress: parsed.address?.localAddress,
        localPort: parsed.address?.localPort,
        rest: buf.subarray(parsed.consumed),
      });
    };
    const done = (
      err?: Error,
      value?: { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number; rest: Buffer },
    ) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    socket.on('data', onData);
  });
}

/**
 * Binds one TCP listener: connection limits, optional PROXY protocol (only from allow-listed
 * peers), implicit TLS when `info.implicitTls`, idle timeouts, then hands the Connection over.
 */
export async function startListener(options: ListenerOptions): Promise<Listener> {
  const sessions = new Set<SessionHandle>();
  const proxyAllowed = options.proxy.enabled ? ipMatcher(options.proxy.from) : () => false;
  const { observer, handler } = options;
  let closing = false;
  const server = net.createServer({ pauseOnConnect: true, noDelay: true });
  const info: ListenerInfo = { ...options.info, port: options.port };
  let timeouts: ListenerTimeouts = options;

  const setup = async (raw: net.Socket) => {
    // The timeouts in force when the connection arrived, for its whole life.
    const limits = timeouts;
    const tcpPeer = normalizeIp(raw.remoteAddress ?? '');
    let remoteAddress = tcpPeer;
    let remotePort = raw.remotePort ?? 0;
    // The address and port the client connected to: ours, or the proxy's when a PROXY header says
    // so (RFC 7628 §3.1: an OAUTHBEARER `port` names the port the client dialled, the proxy's).
    let localAddress = normalizeIp(raw.localAddress ?? '');
    let localPort = raw.localPort ?? options.port;
    let socket: net.Socket = raw;
    if (options.proxy.enabled) {
      if (!proxyAllowed(tcpPeer)) throw new Error(`PROXY header expected but ${tcpPeer} is not in proxy_from`);
      raw.resume();
      const header = await readProxyHeader(raw, limits.handshakeTimeoutMs);
      if (header.remoteAddress) remoteAddress = normalizeIp(header.remoteAddress);
      if (header.remotePort !== undefined) remotePort = header.remotePort;
      if (header.localAddress) localAddress = normalizeIp(header.localAddress);
      if (header.localPort !== undefined) localPort = header.localPort;
      if (header.rest.length) raw.unshift(header.rest);
    }
    let session: SessionHandle | undefined;
    const slot = options.limiter.acquire(remoteAddress, () => {
      observer?.evicted?.(info.name);
      if (session) session.close('idle');
      else raw.destroy();
    });
    if (typeof slot === 'string') {
      observer?.refused?.(info.name, slot);
      if (!info.implicitTls && 'refusal' in handler) raw.end(handler.refusal(slot));
      else raw.destroy();
      return;
    }
    raw.once('close', () => {
      slot.release();
      observer?.closed?.(info.name);
    });
    observer?.opened?.(info.name);
    // RFC 8737 §3: an ACME CA validating a name over TLS gets the challenge certificate, not ours.
    const acme = options.tls.acme;
    const peeked = info.implicitTls && acme?.alpnPending() ? await answerAlpnChallenge(raw, acme, limits.handshakeTimeoutMs) : undefined;
    if (peeked === 'answered') return;
    // Bytes read ahead (a ClientHello after the PROXY header, or peeked for tls-alpn-01) sit in the
    // socket's buffer, where the TLS socket reads them first; resuming would drop them.
    const resume = () => raw.readableLength === 0 && raw.resume();
    if ('https' in handler) {
      peers.set(raw, { remoteAddress, remotePort });
      httpSlots.set(raw, slot);
      raw.setTimeout(limits.idleTimeoutMs, () => raw.destroy());
      handler.https.emit('connection', raw);
      resume();
      return;
    }
    let phase: 'prelogin' | 'idle' = 'prelogin';
    const onTimeout = () => {
      observer?.timedOut?.(info.name, phase);
      if (session) session.close('idle');
      else raw.destroy();
    };
    raw.setTimeout(limits.preloginTimeoutMs ?? limits.idleTimeoutMs, onTimeout);
    if (info.implicitTls) {
      const secure = new tls.TLSSocket(raw, { ...serverTlsOptions(options.tls), isServer: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), limits.handshakeTimeoutMs);
        secure.once('secure', () => {
          clearTimeout(timer);
          resolve();
        });
        secure.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        resume();
      });
      socket = secure;
    }
    const signedIn = () => {
      if (phase === 'idle') return;
      phase = 'idle';
      slot.promote();
      raw.setTimeout(limits.idleTimeoutMs, onTimeout);
    };
    const peer = { remoteAddress, remotePort, localAddress, localPort };
    const conn = new Connection(socket, info, peer, options.tls, signedIn);
    session = handler.accept(conn);
    const accepted = session;
    sessions.add(accepted);
    raw.once('close', () => sessions.delete(accepted));
    if (closing) accepted.close('shutdown');
    raw.resume();
  };

  const sockets = new Set<net.Socket>();
  server.on('connection', (raw) => {
    sockets.add(raw);
    raw.once('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    setup(raw).catch((err: Error) => {
      options.onError?.(err);
      raw.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new FingerpostError('port_in_use', `port ${options.port} on ${options.bind} (${info.name}) is already in use`, {
            hint: `stop the other program or set ${portKey(info)} in the config`,
          }),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new FingerpostError('port_in_use', `no permission to listen on port ${options.port} (${info.name})`, {
            hint: 'use a port above 1024 or grant the capability to bind low ports',
          }),
        );
      } else reject(err);
    });
    server.listen({ host: options.bind, port: options.port }, resolve);
  });
  const bound = server.address();
  if (bound && typeof bound === 'object') (info as { port: number }).port = bound.port;

  return {
    info,
    sessions,
    async close(graceMs = 10_000) {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close('shutdown');
      const deadline = Date.now() + graceMs;
      while (sessions.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const raw of sockets) raw.destroy();
      await stopped;
    },
    setTimeouts(t) {
      timeouts = t;
    },
  };
}
