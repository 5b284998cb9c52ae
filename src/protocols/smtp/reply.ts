/** An SMTP reply (RFC 5321 §4.2) with its enhanced status code (RFC 3463, RFC 2034). */
export interface Reply {
  readonly code: number;
  /** `class.subject.detail`, e.g. `2.1.0`; omitted for 220/221 greetings and multi-line EHLO. */
  readonly status?: string;
  /** One line per element; continuation lines use `code-`, the last `code SP` (RFC 5321 §4.2.1). */
  readonly text: string | readonly string[];
}

/** Builds a reply; the common shape `reply(250, '2.0.0', 'Ok')`. */
export function reply(code: number, status: string | undefined, text: string | readonly string[]): Reply {
  return status === undefined ? { code, text } : { code, status, text };
}

/** Renders a reply as CRLF-terminated lines. Control characters in the text are removed. */
export function formatReply(r: Reply): string {
  const lines = typeof r.text === 'string' ? [r.text] : r.text.length ? r.text : [''];
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? ' ' : '-';
    const clean = lines[i]!.replace(/[\x00-\x1f\x7f]/g, ' ');
    out += `${r.code}${sep}${r.status ? `${r.status} ` : ''}${clean}\r\n`;
  }
  return out;
}

/** True for 4xx replies (transient: the client retries later). */
export function isTransient(r: Reply): boolean {
  return r.code >= 400 && r.code < 500;
}

/** Replies used in several places, so the wording stays the same everywhere. */
export const REPLIES = {
  ok: reply(250, '2.0.0', 'Ok'),
  badSequence: (what: string) => reply(503, '5.5.1', what),
  syntax: (what: string) => reply(501, '5.5.4', what),
  unrecognized: reply(500, '5.5.2', 'Command unrecognized'),
  lineTooLong: reply(500, '5.5.6', 'Line too long'),
  tlsRequired: reply(530, '5.7.0', 'Must issue a STARTTLS command first'),
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  tooManyErrors: reply(421, '4.7.0', 'Too many errors, closing connection'),
  localError: reply(451, '4.3.0', 'Local error in processing, try again later'),
} as const;
