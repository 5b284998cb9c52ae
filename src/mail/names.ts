import { FingerpostError } from '../core/errors.ts';

/** The hierarchy delimiter of mailbox names, for every protocol (RFC 9051 §5.1.1). */
export const DELIMITER = '/';
/** Deepest mailbox hierarchy, for every protocol (JMAP announces it as `maxMailboxDepth`). */
export const MAX_MAILBOX_DEPTH = 20;
/** Longest single level of a mailbox name in UTF-8 octets (JMAP's `maxSizeMailboxName`). */
export const MAX_MAILBOX_SEGMENT = 490;

/** Refuses names JMAP clients were promised never to see: too deep, or a level too long. */
export function checkMailboxShape(name: string): void {
  const segments = name.split(DELIMITER);
  if (segments.length > MAX_MAILBOX_DEPTH) {
    throw new FingerpostError('invalid_argument', `mailboxes nest at most ${MAX_MAILBOX_DEPTH} levels deep`);
  }
  if (segments.some((s) => Buffer.byteLength(s) > MAX_MAILBOX_SEGMENT)) {
    throw new FingerpostError('invalid_argument', `a mailbox name level is at most ${MAX_MAILBOX_SEGMENT} bytes`);
  }
}

/** Mailbox names are compared as given, except INBOX, which is case-insensitive (RFC 9051 §5.1). */
export function normalizeMailboxName(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  if (/^inbox$/i.test(trimmed)) return 'INBOX';
  if (/^inbox\//i.test(trimmed)) return `INBOX${trimmed.slice(5)}`;
  return trimmed;
}

/** Keywords as stored: a space-separated, sorted, lower-case set. */
export function keywordsToText(keywords: Iterable<string>): string {
  return [...new Set([...keywords].map((k) => k.toLowerCase()))].sort().join(' ');
}

export function keywordsFromText(text: string): string[] {
  return text ? text.split(' ') : [];
}

export function validKeyword(k: string): boolean {
  // RFC 8621 §4.1.1: 1-255 chars, %x21-%x7e except ( ) { ] % * " \
  return /^[\x21-\x7e]{1,255}$/.test(k) && !/[(){\]%*"\\]/.test(k);
}
