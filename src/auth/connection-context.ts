import type { Connection } from '../net/connection.ts';
import type { AuthContext, AuthProtocol } from './types.ts';

/** Where a line protocol's credentials come from: its listener, peer, TLS state and local address (RFC 8707 audiences, policy). */
export function connectionContext(conn: Connection, protocol: AuthProtocol): AuthContext {
  return {
    protocol,
    listener: conn.listener.name,
    remote: conn.remoteAddress,
    tls: conn.secure,
    localPort: conn.localPort,
    ...(conn.localAddress ? { localAddress: conn.localAddress } : {}),
  };
}
