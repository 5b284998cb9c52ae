const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** An RFC 5322 §3.3 date-time in UTC: `Sun, 22 Nov 2026 20:05:36 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

export interface ReceivedInfo {
  /** The EHLO/HELO argument as the client sent it. */
  readonly helo: string;
  readonly remoteAddress: string;
  /** This server's host name. */
  readonly by: string;
  readonly esmtp: boolean;
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly authenticated: boolean;
  readonly smtputf8: boolean;
  readonly id: string;
  /** Named in a `for` clause only when there is exactly one recipient (no leak of Bcc lists). */
  readonly recipients: readonly string[];
  readonly at: number;
}

/**
 * The protocol keyword of the `with` clause: ESMTP plus S (TLS) and A (AUTH) per RFC 3848, UTF8
 * variants per RFC 6531 §3.7.3, SMTP for HELO sessions (RFC 5321 §4.4).
 */
export function withKeyword(info: Pick<ReceivedInfo, 'esmtp' | 'tls' | 'authenticated' | 'smtputf8'>): string {
  if (!info.esmtp) return 'SMTP';
  return `${info.smtputf8 ? 'UTF8SMTP' : 'ESMTP'}${info.tls ? 'S' : ''}${info.authenticated ? 'A' : ''}`;
}

function sanitize(s: string): string {
  return s.replace(/[\x00-\x1f\x7f()\\]/g, '?').slice(0, 255);
}

/**
 * The trace header this server prepends (RFC 5321 §4.4): `from` with the client's EHLO name and
 * IP, `by`, `with`, `id`, an optional `for`, and the date. Folded over lines, CRLF-terminated.
 */
export function receivedHeader(info: ReceivedInfo): string {
  const ip = info.remoteAddress.includes(':') ? `IPv6:${info.remoteAddress}` : info.remoteAddress;
  const tls = info.tls ? ` (using ${sanitize(info.tls.protocol)} with cipher ${sanitize(info.tls.cipher)})` : '';
  const by = `\tby ${info.by} with ${withKeyword(info)}${tls} id ${info.id}`;
  const date = rfc5322Date(info.at);
  // Folded with a leading tab on continuation lines (RFC 5322 §2.2.3); `;` precedes the date.
  const tail = info.recipients.length === 1 ? `${by}\r\n\tfor <${info.recipients[0]}>; ${date}` : `${by}; ${date}`;
  return `Received: from ${sanitize(info.helo)} ([${ip}])\r\n${tail}\r\n`;
}
