import { randomId } from '../../core/ids.ts';
import { rfc5322Date } from './received.ts';

/** The end of the header section: the first empty line (CRLF CRLF), or -1 when there is no body. */
function headerEnd(message: Buffer): number {
  if (message.subarray(0, 2).toString('latin1') === '\r\n') return 0;
  const i = message.indexOf('\r\n\r\n');
  return i < 0 ? -1 : i + 2;
}

function hasHeader(header: string, name: string): boolean {
  return new RegExp(`^${name}[ \\t]*:`, 'im').test(header);
}

/**
 * Adds what a submission server may add to an incomplete message (RFC 6409 §8.2 Message-ID,
 * §8.3 Date) so every message sent on leaves with both. Everything else is left byte for byte.
 */
export function completeSubmission(message: Buffer, hostname: string, now: number): Buffer {
  const end = headerEnd(message);
  const header = (end < 0 ? message : message.subarray(0, end)).toString('latin1');
  const added: string[] = [];
  if (!hasHeader(header, 'Date')) added.push(`Date: ${rfc5322Date(now)}\r\n`);
  if (!hasHeader(header, 'Message-ID')) added.push(`Message-ID: <${randomId()}@${hostname}>\r\n`);
  if (!added.length) return message;
  if (end < 0) {
    // A message without a header/body separator: the whole thing is header.
    const sep = message.length && !message.subarray(-2).equals(Buffer.from('\r\n')) ? '\r\n' : '';
    return Buffer.concat([message, Buffer.from(sep + added.join(''), 'latin1')]);
  }
  return Buffer.concat([message.subarray(0, end), Buffer.from(added.join(''), 'latin1'), message.subarray(end)]);
}
