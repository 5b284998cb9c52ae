import { randomId } from '../../core/ids.ts';
import { headerFields } from '../../mail/mime/header-fields.ts';
import { rfc5322Date } from './received.ts';

/**
 * Adds what a submission server may add to an incomplete message (RFC 6409 §8.2 Message-ID,
 * §8.3 Date) so every message sent on leaves with both. Everything else is left byte for byte.
 * The header section is read in windows (mail/mime/header-fields.ts): a huge one never holds the
 * event loop.
 */
export async function completeSubmission(message: Buffer, hostname: string, now: number): Promise<Buffer> {
  const present = new Set<string>();
  const { end } = await headerFields(message, /date|message-id/, (_value, name) => present.add(name.toLowerCase()).size > 0);
  const added: string[] = [];
  if (!present.has('date')) added.push(`Date: ${rfc5322Date(now)}\r\n`);
  if (!present.has('message-id')) added.push(`Message-ID: <${randomId()}@${hostname}>\r\n`);
  if (!added.length) return message;
  if (end === message.length) {
    // A message without a header/body separator: the whole thing is header.
    const sep = message.length && !message.subarray(-2).equals(Buffer.from('\r\n')) ? '\r\n' : '';
    return Buffer.concat([message, Buffer.from(sep + added.join(''), 'latin1')]);
  }
  return Buffer.concat([message.subarray(0, end), Buffer.from(added.join(''), 'latin1'), message.subarray(end)]);
}
