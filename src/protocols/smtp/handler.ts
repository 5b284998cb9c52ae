import type { ProtocolHandler } from '../../net/listener.ts';
import { SmtpSession, type SmtpOptions } from './session.ts';

/** The listener-side entry point for SMTP (MX) and submission listeners (RFC 5321, RFC 6409). */
export function smtpHandler(options: SmtpOptions): ProtocolHandler {
  return {
    accept(conn) {
      const session = new SmtpSession(conn, options);
      session.start();
      return session;
    },
    // RFC 5321 §3.8: a server that cannot serve now answers 421 and closes.
    refusal: () => `421 4.7.0 ${options.hostname} Too many connections, try again later\r\n`,
  };
}
