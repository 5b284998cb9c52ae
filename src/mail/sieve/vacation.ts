import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/db.ts';
import { formatMailDate } from '../mime/date.ts';
import type { SieveAction } from './actions.ts';
import type { SieveMessage } from './message.ts';

type Vacation = Extract<SieveAction, { kind: 'vacation' }>;

/** Senders that are never people (RFC 5230 §4.6: owner-*, *-request, MAILER-DAEMON and the like). */
const ROBOT = /^(mailer-daemon|postmaster|listserv|majordomo|owner-.*|.*-request|.*-bounces?|bounces?|no-?reply|do-?not-?reply)$/i;

/**
 * Whether a Sieve vacation may answer this message (RFC 5230 §4.5–4.6, RFC 3834 §2): a real
 * envelope sender that is no robot and not the user, no Auto-Submitted other than "no", no list
 * or bulk mail, and one of the user's addresses in a To/Cc/Bcc/Resent-* field. Returns the
 * address of the user it was sent to, or undefined.
 */
export function vacationTarget(message: SieveMessage, sender: string, own: readonly string[]): string | undefined {
  if (!sender.includes('@')) return undefined;
  const lowerOwn = own.map((a) => a.toLowerCase());
  if (lowerOwn.includes(sender.toLowerCase()) || ROBOT.test(sender.slice(0, sender.lastIndexOf('@')))) return undefined;
  const auto = message.headers('auto-submitted')[0];
  if (auto && auto.trim().toLowerCase() !== 'no') return undefined;
  if (message.headers('precedence').some((p) => /^(bulk|list|junk)$/i.test(p.trim()))) return undefined;
  if (['list-id', 'list-unsubscribe', 'list-post'].some((h) => message.headers(h).length)) return undefined;
  for (const field of ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'])
    for (const a of message.addresses(field)) {
      const address = `${a.local}@${a.domain}`;
      if (lowerOwn.includes(address.toLowerCase())) return address;
    }
  return undefined;
}

/**
 * Records that `sender` got the reply `handle` now, unless it got one within `days` (RFC 5230
 * §4.1–4.2); true when this delivery may send. Kept in the store, so several nodes agree.
 */
export async function claimVacation(
  db: Db,
  accountId: number,
  handle: string,
  sender: string,
  days: number,
  now: number,
): Promise<boolean> {
  const key = sender.toLowerCase();
  return db.kysely.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('sieve_vacation_replies')
      .select('sent_at')
      .where('account_id', '=', accountId)
      .where('handle', '=', handle)
      .where('sender', '=', key)
      .executeTakeFirst();
    if (row && Number(row.sent_at) > now - days * 86_400_000) return false;
    if (row)
      await trx
        .updateTable('sieve_vacation_replies')
        .set({ sent_at: now })
        .where('account_id', '=', accountId)
        .where('handle', '=', handle)
        .where('sender', '=', key)
        .execute();
    else await trx.insertInto('sieve_vacation_replies').values({ account_id: accountId, handle, sender: key, sent_at: now }).execute();
    return true;
  });
}

/** A header value with CR/LF and other controls removed, so script text cannot add fields. */
const clean = (s: string) => s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();

/** An unstructured header value, as an RFC 2047 encoded-word when it is not ASCII. */
function encodeHeader(s: string): string {
  const v = clean(s);
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

/**
 * The vacation reply (RFC 5230 §5): to the envelope sender, from `:from` or the address the
 * message came to, `Auto-Submitted: auto-replied` (RFC 3834 §5), In-Reply-To and References of
 * the original, subject `:subject` or "Auto: " and the original's; `:mime` takes the reason as a
 * MIME entity, else it is the text/plain body.
 */
export function vacationReply(
  action: Vacation,
  original: SieveMessage,
  input: { readonly to: string; readonly from: string; readonly hostname: string; readonly now: number },
): Buffer {
  const subject = action.subject ?? `Auto: ${original.headers('subject')[0] ?? ''}`;
  const messageId = original.headers('message-id')[0]?.trim();
  const refs = original.headers('references')[0]?.trim();
  const lines = [
    `From: ${clean(action.from ?? input.from)}`,
    `To: <${clean(input.to)}>`,
    `Subject: ${encodeHeader(subject.slice(0, 500))}`,
    `Date: ${formatMailDate(input.now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${input.hostname}>`,
    'Auto-Submitted: auto-replied (vacation)',
    ...(messageId
      ? [`In-Reply-To: ${clean(messageId)}`, `References: ${clean(refs ? `${refs} ${messageId}` : messageId).slice(0, 2000)}`]
      : []),
    'MIME-Version: 1.0',
  ];
  const reason = action.reason.replace(/\r?\n/g, '\r\n');
  if (action.mime) return Buffer.from(`${lines.join('\r\n')}\r\n${reason.includes('\r\n\r\n') ? reason : `${reason}\r\n\r\n`}`, 'utf8');
  const ascii = /^[\x00-\x7f]*$/.test(reason);
  const body = ascii
    ? reason
    : (
        Buffer.from(reason, 'utf8')
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      ).join('\r\n');
  lines.push('Content-Type: text/plain; charset=utf-8', `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}${body.endsWith('\r\n') ? '' : '\r\n'}`, 'utf8');
}
