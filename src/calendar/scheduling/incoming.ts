import type ICAL from 'ical.js';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import type { SenderAuthResult } from '../../mail/inbound/sender-auth.ts';
import { envelopeOf, parseStructure } from '../../mail/mime/structure.ts';
import { partText } from '../../mail/mime/text.ts';
import type { MimePart } from '../../mail/mime/types.ts';
import { loadObject } from '../objects.ts';
import { type ItipMethod, schedulingInfo } from './itip.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * Incoming iMIP (RFC 6047): a text/calendar part with METHOD REQUEST, REPLY or CANCEL in mail the
 * MX delivered to a local account is applied to that account's calendar and scheduling inbox as
 * local delivery would (RFC 6638 §4.1) — only when the message comes from the calendar user the
 * iTIP message speaks for (RFC 6047 §3: From is the ORGANIZER, or the replying ATTENDEE) and a
 * DKIM signature (RFC 6376) or SPF (RFC 7208) that passed is aligned with that address's domain
 * (RFC 7489 §3.1). Anything else stays a plain mail message.
 */

/** The largest text/calendar part read from a message. */
const MAX_ICS_BYTES = 1024 * 1024;
const METHODS: readonly ItipMethod[] = ['REQUEST', 'REPLY', 'CANCEL'];

/** What an incoming message did to the calendar: applied, or why not. */
export type ImipOutcome =
  | { readonly applied: true; readonly method: ItipMethod; readonly uid: string }
  | { readonly applied: false; readonly reason: string };

/** Whether `domain` is `authenticated` or one of its subdomains (relaxed alignment, RFC 7489 §3.1.1). */
function alignedWith(domain: string, authenticated: string): boolean {
  const d = authenticated.toLowerCase().replace(/\.$/, '');
  return d !== '' && (domain === d || domain.endsWith(`.${d}`));
}

/** Whether a passing DKIM signature or SPF check (RFC 8601 §2.7.1, §2.7.2) speaks for `address`'s domain. */
export function authenticatedFor(address: string, auth: SenderAuthResult | undefined): boolean {
  if (!auth) return false;
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  if (auth.dkim.some((d) => d.result === 'pass' && alignedWith(domain, d.domain))) return true;
  return auth.spf.result === 'pass' && alignedWith(domain, auth.spf.domain);
}

/** The first text/calendar leaf carrying an iTIP method (RFC 6047 §2.4), depth-first. */
function calendarPart(part: MimePart): MimePart | undefined {
  if (part.type === 'text' && part.subtype === 'calendar') return part;
  for (const child of part.children) {
    const hit = calendarPart(child);
    if (hit) return hit;
  }
  return undefined;
}

function fromAddress(fields: Parameters<typeof envelopeOf>[0]): string | undefined {
  const from = envelopeOf(fields).from.filter((a) => a.mailbox && a.host);
  if (from.length !== 1) return undefined;
  return `${from[0]!.mailbox}@${from[0]!.host}`.toLowerCase();
}

export interface IncomingImipDeps {
  readonly scheduler: Pick<Scheduler, 'receive'>;
  readonly directory: Pick<Directory, 'getAccount'>;
  readonly logger?: Logger;
}

/**
 * Reads and applies the iMIP part of a message delivered to `accountId`, when `auth` (the MX's
 * sender authentication) vouches for its sender. Never throws for the message's content.
 */
export async function applyIncomingImip(
  deps: IncomingImipDeps,
  accountId: number,
  raw: Buffer,
  auth: SenderAuthResult | undefined,
): Promise<ImipOutcome> {
  const { root, fields } = parseStructure(raw);
  const part = calendarPart(root);
  if (!part) return { applied: false, reason: 'no text/calendar part' };
  if (part.bodyEnd - part.bodyStart > MAX_ICS_BYTES) return { applied: false, reason: 'calendar part too large' };
  let vcal: ICAL.Component;
  try {
    vcal = loadObject(partText(raw, part));
  } catch {
    return { applied: false, reason: 'calendar part is not iCalendar' };
  }
  const method = String(vcal.getFirstPropertyValue('method') ?? part.params['method'] ?? '').toUpperCase() as ItipMethod;
  if (!METHODS.includes(method)) return { applied: false, reason: `method ${method || 'none'} is not applied` };
  const info = schedulingInfo(vcal);
  if (!info?.uid || !info.organizer) return { applied: false, reason: 'no UID or ORGANIZER' };
  // RFC 6047 §3: the sender is the organizer (REQUEST, CANCEL) or the one attendee that replies.
  const sender = method === 'REPLY' ? (info.attendees.length === 1 ? info.attendees[0]!.address : undefined) : info.organizer;
  const from = fromAddress(fields);
  if (!sender || from !== sender) return { applied: false, reason: 'From is not the calendar user of the message' };
  if (!authenticatedFor(sender, auth)) return { applied: false, reason: 'sender not authenticated (no aligned DKIM or SPF pass)' };
  const account = await deps.directory.getAccount(accountId);
  if (!account || account.disabled) return { applied: false, reason: 'no such account' };
  await deps.scheduler.receive(sender, account, method, vcal);
  return { applied: true, method, uid: info.uid };
}

/** The delivery hook (src/mail/sieve/deliver.ts `calendarMail`): applies iMIP and logs what it did. */
export function incomingImip(deps: IncomingImipDeps) {
  return async (accountId: number, raw: Buffer, auth: SenderAuthResult | undefined): Promise<void> => {
    try {
      const out = await applyIncomingImip(deps, accountId, raw, auth);
      if (out.applied) deps.logger?.info({ account: accountId, method: out.method, uid: out.uid }, 'iMIP message applied');
      else if (out.reason !== 'no text/calendar part')
        deps.logger?.info({ account: accountId, why: out.reason }, 'iMIP message kept as mail only');
    } catch (err) {
      deps.logger?.warn({ account: accountId, err: (err as Error).message }, 'iMIP message could not be applied; kept as mail');
    }
  };
}
