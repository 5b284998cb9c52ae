import type { ProtocolHandler } from '../../net/listener.ts';
import { ManageSieveSession, type ManageSieveOptions } from './session.ts';
import { response } from './wire.ts';

/** The listener-side entry point for ManageSieve (RFC 5804) on its STARTTLS and implicit-TLS ports. */
export function manageSieveHandler(options: ManageSieveOptions): ProtocolHandler {
  return {
    accept(conn) {
      const session = new ManageSieveSession(conn, options);
      session.start();
      return session;
    },
    refusal: () => response('BYE', 'Too many connections, try again later', 'TRYLATER'),
  };
}
