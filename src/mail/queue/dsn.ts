import { randomId } from '../../core/ids.ts';

/** A recipient that could not be delivered, for the report. */
export interface FailedRecipient {
  readonly recipient: string;
  /** RFC 3463 status, e.g. `5.1.1`, or `4.4.7` when the message expired in the queue. */
  readonly status: string;
  readonly diagnostic: string;
  readonly remoteMta?: string;
  readonly lastAttemptAt: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function oneLine(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\x00-\x1f\x7f]/g, '')
    .slice(0, 900);
}

/** The header section of a message (up to, not including, the empty line). */
function headersOf(message: Buffer): Buffer {
  const end = message.indexOf('\r\n\r\n');
  return end < 0 ? message : message.subarray(0, end + 2);
}

/**
 * A non-delivery report (RFC 3464 delivery-status in a RFC 6522 multipart/report) to the
 * original sender: a human-readable part, one per-recipient block each, and the original
 * header (text/rfc822-headers). Sent with the null reverse-path so it never bounces itself
 * (RFC 5321 §6.1); `Auto-Submitted` marks it automatic (RFC 3834 §5).
 */
export function buildBounce(input: {
  readonly hostname: string;
  readonly sender: string;
  readonly original: Buffer;
  readonly arrivedAt: number;
  readonly failed: readonly FailedRecipient[];
  readonly now: number;
}): Buffer {
  const boundary = `=_fp_${randomId()}`;
  const expired = input.failed.some((f) => f.status === '4.4.7');
  const human = [
    `This is the mail system at ${input.hostname}.`,
    '',
    expired
      ? 'Your message could not be delivered in time to the recipients below; it has been removed from the queue.'
      : 'Your message could not be delivered to the recipients below.',
    '',
    ...input.failed.map((f) => `<${f.recipient}>: ${oneLine(f.diagnostic)}`),
    '',
  ].join('\r\n');
  const perMessage = [`Reporting-MTA: dns; ${input.hostname}`, `Arrival-Date: ${date(input.arrivedAt)}`].join('\r\n');
  const perRecipient = input.failed
    .map((f) =>
      [
        `Final-Recipient: rfc822; ${f.recipient}`,
        'Action: failed',
        `Status: ${f.status.startsWith('4') ? `5${f.status.slice(1)}` : f.status}`,
        ...(f.remoteMta ? [`Remote-MTA: dns; ${f.remoteMta}`] : []),
        `Diagnostic-Code: smtp; ${oneLine(f.diagnostic)}`,
        `Last-Attempt-Date: ${date(f.lastAttemptAt)}`,
      ].join('\r\n'),
    )
    .join('\r\n\r\n');
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.sender}>`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${date(input.now)}`,
    `Message-ID: <${randomId()}@${input.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    perMessage,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'utf8'), headersOf(input.original), Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')]);
}
