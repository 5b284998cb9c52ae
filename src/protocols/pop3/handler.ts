import type { ProtocolHandler } from '../../net/listener.ts';
import { Pop3Session, type Pop3Options } from './session.ts';

/** The listener-side entry point for POP3 (RFC 1939) on the STLS and implicit-TLS ports. */
export function pop3Handler(options: Pop3Options): ProtocolHandler {
  return {
    accept(conn) {
      const session = new Pop3Session(conn, options);
      session.start();
      return session;
    },
    refusal: () => '-ERR [SYS/TEMP] Too many connections, try again later\r\n',
  };
}
