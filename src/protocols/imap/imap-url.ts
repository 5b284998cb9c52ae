import { ParseError } from './wire/cursor.ts';
import { sectionSpec } from './wire/parse-fetch.ts';
import type { Partial, Section } from './wire/types.ts';

/**
 * IMAP URLs to one message or part (RFC 5092 §6 `imessagepart`), as far as CATENATE needs them
 * (RFC 4469 §5): absolute (`imap://user@host/Box;UIDVALIDITY=n/;UID=n/;SECTION=1.2/;PARTIAL=0.100`),
 * path-absolute (`/Box/;UID=n`) or relative to the selected mailbox (`;UID=n…`). Mailbox names
 * are percent-encoded UTF-8. URLAUTH (RFC 4467) and HEADER.FIELDS sections are not accepted.
 */
export interface MessageUrl {
  /** The user named in the URL, when there is one. */
  readonly user: string | null;
  /** Mailbox name, or null for the selected mailbox. */
  readonly mailbox: string | null;
  readonly uidValidity: number | null;
  readonly uid: number;
  readonly section: Section | null;
  readonly partial: Partial | null;
}

const MAX_NUMBER = 0xffffffff;

function nz(text: string): number | null {
  const n = Number(text);
  return /^[1-9]\d{0,9}$/.test(text) && n <= MAX_NUMBER ? n : null;
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

const PATH = /^(?<mailbox>[^;]*?)(?:;UIDVALIDITY=(?<validity>\d+))?\/;UID=(?<uid>\d+)(?<rest>.*)$/i;
const RELATIVE = /^;UID=(?<uid>\d+)(?<rest>.*)$/i;
const REST = /^(?:\/;SECTION=(?<section>[^/;]+))?(?:\/;PARTIAL=(?<start>\d+)(?:\.(?<length>\d+))?)?$/i;

/** Parses one message URL; null when it is not one this server resolves (answered `BADURL`). */
export function parseMessageUrl(text: string): MessageUrl | null {
  let user: string | null = null;
  let mailbox: string | null = null;
  let validity: string | undefined;
  let match: RegExpExecArray | null;
  if (/^imap:\/\//i.test(text)) {
    const rest = text.slice(7);
    const slash = rest.indexOf('/');
    if (slash < 0) return null;
    const authority = rest.slice(0, slash);
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at).replace(/;AUTH=[^;]*$/i, '');
      if (userinfo) user = decode(userinfo);
      if (user === null && userinfo) return null;
    }
    match = PATH.exec(rest.slice(slash + 1));
  } else if (text.startsWith('/')) match = PATH.exec(text.slice(1));
  else match = RELATIVE.exec(text);
  if (!match?.groups) return null;
  const g = match.groups;
  if (g.mailbox !== undefined) {
    mailbox = decode(g.mailbox);
    if (!mailbox) return null;
    validity = g.validity;
  }
  const uid = nz(g.uid!);
  const uidValidity = validity === undefined ? null : nz(validity);
  if (uid === null || (validity !== undefined && uidValidity === null)) return null;
  const r = REST.exec(g.rest!);
  if (!r?.groups) return null;
  let section: Section | null = null;
  if (r.groups.section !== undefined) {
    const spec = decode(r.groups.section);
    if (spec === null) return null;
    try {
      const s = sectionSpec(spec);
      if (s.text === 'HEADER.FIELDS' || s.text === 'HEADER.FIELDS.NOT') return null;
      section = { ...s, fields: [] };
    } catch (err) {
      if (err instanceof ParseError) return null;
      throw err;
    }
  }
  let partial: Partial | null = null;
  if (r.groups.start !== undefined) {
    const start = Number(r.groups.start);
    const length = r.groups.length === undefined ? MAX_NUMBER : nz(r.groups.length);
    if (!Number.isSafeInteger(start) || start > MAX_NUMBER || length === null) return null;
    partial = { start, length };
  }
  return { user, mailbox, uidValidity, uid, section, partial };
}
