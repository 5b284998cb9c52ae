import { baseSubject } from '../../mail/base-subject.ts';
import { casemapKey } from '../../mail/collation.ts';
import { decodeEncodedWords } from '../../mail/mime/encoded-word.ts';
import type { EnvelopeAddress, ParsedMessage } from '../../mail/mime/types.ts';
import { type AddressTexts, addressTexts } from './search-address.ts';

/**
 * What SORT (RFC 5256, RFC 5957) and THREAD (RFC 5256 §3) need of a message, computed once from
 * its parsed structure and kept in the sort thread's cache (sort-thread.ts): a few hundred bytes a
 * message, so a 100,000-message mailbox sorts (and SEARCH FROM/TO/CC/BCC matches addresses) again
 * without re-reading its messages' structure.
 */
export interface SortFields {
  readonly size: number;
  readonly receivedAt: number;
  /** The sent date (RFC 5256 §2.2): Date: in UTC, else INTERNALDATE. */
  readonly sentAt: number;
  /** Base subject (RFC 5256 §2.1) and its i;unicode-casemap key. */
  readonly baseSubject: string;
  readonly subjectKey: string;
  readonly replyOrForward: boolean;
  /** Casemap keys: the first address's local part (FROM/TO/CC), display name or address (DISPLAY*). */
  readonly from: string;
  readonly to: string;
  readonly cc: string;
  readonly displayFrom: string;
  readonly displayTo: string;
  readonly messageId: string | null;
  /** References ids, else the first In-Reply-To id (RFC 5256 §3). */
  readonly references: readonly string[];
  /** SEARCH FROM/TO/CC/BCC's texts of each address field (search-address.ts, RFC 9051 §6.4.4). */
  readonly addresses: Readonly<Record<'from' | 'to' | 'cc' | 'bcc', AddressTexts>>;
}

function firstAddress(list: readonly EnvelopeAddress[]): EnvelopeAddress | undefined {
  return list.find((a) => a.host !== null && a.mailbox !== null);
}

/** SORT=DISPLAY (RFC 5957 §3): the decoded display name, else the addr-spec. */
function displayOf(a: EnvelopeAddress | undefined): string {
  if (!a) return '';
  const name = a.name === null ? '' : decodeEncodedWords(a.name).trim();
  return name || `${a.mailbox}@${a.host}`;
}

/** The sort fields of one stored message. */
export function sortFieldsOf(m: { readonly size: number; readonly receivedAt: number; readonly meta: ParsedMessage }): SortFields {
  const env = m.meta.envelope;
  const subject = baseSubject(m.meta.subject);
  return {
    size: m.size,
    receivedAt: m.receivedAt,
    sentAt: m.meta.sentAt ?? m.receivedAt,
    baseSubject: subject.base,
    subjectKey: casemapKey(subject.base),
    replyOrForward: subject.replyOrForward,
    from: casemapKey(firstAddress(env.from)?.mailbox ?? ''),
    to: casemapKey(firstAddress(env.to)?.mailbox ?? ''),
    cc: casemapKey(firstAddress(env.cc)?.mailbox ?? ''),
    displayFrom: casemapKey(displayOf(firstAddress(env.from))),
    displayTo: casemapKey(displayOf(firstAddress(env.to))),
    messageId: m.meta.messageId,
    references: (m.meta.references.length ? m.meta.references : m.meta.inReplyTo.slice(0, 1)).slice(-100),
    addresses: { from: addressTexts(env.from), to: addressTexts(env.to), cc: addressTexts(env.cc), bcc: addressTexts(env.bcc) },
  };
}
