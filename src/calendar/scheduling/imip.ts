import { randomUUID } from 'node:crypto';
import { encodeWords, isPlainText } from 'nodemailer/lib/mime-funcs';
import type { ItipMethod } from './itip.ts';

/**
 * iMIP (RFC 6047): an iTIP message as an email. A multipart/alternative with a short text for
 * people and the `text/calendar; method=…` part calendar programs act on (§2.4), base64 so no
 * line of the iCalendar body breaks the SMTP line limit.
 */

/** What one iMIP message carries. */
export interface ImipInput {
  readonly from: { readonly address: string; readonly name?: string };
  readonly to: readonly string[];
  readonly method: ItipMethod;
  readonly summary: string;
  /** The iTIP text (with METHOD). */
  readonly ics: string;
  /** For a REPLY: the answer (ACCEPTED, DECLINED, TENTATIVE). */
  readonly partstat?: string;
  readonly now: number;
}

function header(value: string): string {
  return isPlainText(value) ? value : encodeWords(value, 'Q', 52);
}

function base64Lines(text: string): string {
  return (
    Buffer.from(text, 'utf8')
      .toString('base64')
      .match(/.{1,76}/g)
      ?.join('\r\n') ?? ''
  );
}

function subjectOf(input: ImipInput): string {
  const what = input.summary.replace(/[\r\n]+/g, ' ').slice(0, 200) || 'an event';
  switch (input.method) {
    case 'REQUEST':
      return `Invitation: ${what}`;
    case 'CANCEL':
      return `Cancelled: ${what}`;
    case 'REPLY':
      return `${(input.partstat ?? 'Reply').toLowerCase().replace(/^./, (c) => c.toUpperCase())}: ${what}`;
  }
}

function textOf(input: ImipInput): string {
  const who = input.from.name ? `${input.from.name} <${input.from.address}>` : input.from.address;
  const what = input.summary || 'an event';
  switch (input.method) {
    case 'REQUEST':
      return `${who} invites you to "${what}".\r\nYour calendar program can answer this invitation.\r\n`;
    case 'CANCEL':
      return `${who} cancelled "${what}".\r\n`;
    case 'REPLY':
      return `${who} answered ${(input.partstat ?? 'the invitation').toLowerCase()} to "${what}".\r\n`;
  }
}

/** The whole RFC 5322 message of an iMIP request, cancel or reply. */
export function imipMessage(input: ImipInput): Buffer {
  const boundary = `fp-${randomUUID()}`;
  const domain = input.from.address.slice(input.from.address.lastIndexOf('@') + 1);
  const from = input.from.name ? `${header(input.from.name)} <${input.from.address}>` : input.from.address;
  const lines = [
    `From: ${from}`,
    `To: ${input.to.join(', ')}`,
    `Subject: ${header(subjectOf(input))}`,
    `Date: ${new Date(input.now).toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(textOf(input)),
    `--${boundary}`,
    `Content-Type: text/calendar; charset=utf-8; method=${input.method}`,
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(input.ics),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
