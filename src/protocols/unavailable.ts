import type { ListenerInfo } from '../net/connection.ts';
import type { ProtocolHandler } from '../net/listener.ts';

type MailProtocol = Exclude<ListenerInfo['protocol'], 'http'>;

const GOODBYE: Record<MailProtocol, string> = {
  imap: '* BYE [UNAVAILABLE] IMAP is not available on this server yet\r\n',
  pop3: '-ERR [SYS/TEMP] POP3 is not available on this server yet\r\n',
  smtp: '421 4.3.2 SMTP is not available on this server yet\r\n',
  submission: '421 4.3.2 Submission is not available on this server yet\r\n',
};

/** A handler for a protocol that is not built: its own "unavailable" greeting (RFC 9051 §7.1.5, RFC 5321 §3.8, RFC 2449 §8.1.2), then close. */
export function unavailableHandler(protocol: MailProtocol): ProtocolHandler {
  return {
    accept(conn) {
      conn.end(GOODBYE[protocol]);
      return { close: () => conn.destroy() };
    },
    refusal: () => GOODBYE[protocol],
  };
}
