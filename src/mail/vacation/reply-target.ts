import { displayAddresses, parseAddressList } from '../mime/address.ts';
import { type HeaderField, headerValues } from '../mime/headers.ts';

/** Local parts that are never people (RFC 3834 §2, list and bounce addresses). */
const ROBOTS =
  /^(mailer-daemon|postmaster|listserv|majordomo|noreply|no-reply|do-not-reply|donotreply|bounces?|owner-.*|.*-request|.*-bounces?)$/i;

function last(fields: readonly HeaderField[], name: string): string | undefined {
  return headerValues(fields, name).at(-1);
}

function emails(value: string | undefined): string[] {
  return value === undefined ? [] : displayAddresses(parseAddressList(value)).map((a) => a.email);
}

/**
 * Whether a delivered message deserves an automatic reply, and to whom (RFC 3834 §2, §3.1):
 * never to automatic or list mail, never to robots or the account itself, only when one of the
 * account's addresses is a direct recipient. `fields` are the message's header fields.
 */
export function replyTarget(fields: readonly HeaderField[], own: readonly string[]): string | undefined {
  const auto = last(fields, 'auto-submitted');
  if (auto && auto.toLowerCase() !== 'no') return undefined;
  if (/^(bulk|list|junk)$/i.test(last(fields, 'precedence') ?? '')) return undefined;
  if (fields.some((f) => /^list-(id|unsubscribe|post)$/.test(f.name))) return undefined;
  if (last(fields, 'received') === undefined) return undefined;
  const returnPath = last(fields, 'return-path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath)) return undefined;
  const target = (returnPath ? emails(returnPath)[0] : undefined) ?? emails(last(fields, 'from'))[0];
  if (!target?.includes('@')) return undefined;
  const lowerOwn = own.map((a) => a.toLowerCase());
  if (lowerOwn.includes(target.toLowerCase()) || ROBOTS.test(target.slice(0, target.lastIndexOf('@')))) return undefined;
  const direct = [...emails(last(fields, 'to')), ...emails(last(fields, 'cc'))].map((a) => a.toLowerCase());
  if (!direct.some((a) => lowerOwn.includes(a))) return undefined;
  return target;
}
