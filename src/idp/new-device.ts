import { randomBytes } from 'node:crypto';
import type { NewDeviceSignIn } from './interactions.ts';

/** Header-safe text: no line breaks or other control characters, bounded. */
function line(text: string, max = 200): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, max);
}

const METHODS: Readonly<Record<string, string>> = {
  password: 'your password',
  'password+totp': 'your password and an authenticator code',
  'password+recovery': 'your password and a recovery code',
  'password+passkey': 'your password and a passkey',
  passkey: 'a passkey',
};

/**
 * The notice put in an account's INBOX when it signs in at the embedded provider from a browser
 * that never did before: an RFC 5322 message marked `Auto-Submitted: auto-generated` (RFC 3834 §5)
 * naming when, from which address and browser, how, and where to end sessions.
 */
export function newDeviceNotice(n: NewDeviceSignIn, options: { serverName: string; accountUrl: string }): Buffer {
  const domain = n.account.slice(n.account.lastIndexOf('@') + 1);
  const when = new Date(n.at).toUTCString();
  const body = [
    `Someone signed in to ${n.account} at ${options.serverName} from a browser that had not signed in to it before.`,
    '',
    `When:     ${when}`,
    `Address:  ${line(n.ip, 60)}`,
    `Browser:  ${line(n.userAgent) || 'unknown'}`,
    `With:     ${METHODS[n.method] ?? line(n.method, 40)}`,
    '',
    'If this was you, nothing needs doing.',
    '',
    'If it was not, change your password and end the sessions you do not know at',
    `${options.accountUrl}/security and ${options.accountUrl}/sessions,`,
    'and turn on a second factor (authenticator app or passkey) there.',
    '',
  ].join('\r\n');
  const head = [
    `From: "${line(options.serverName, 80).replace(/["\\]/g, '')}" <postmaster@${domain}>`,
    `To: <${n.account}>`,
    `Subject: New sign-in to your account`,
    `Date: ${when.replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}.new-device@${domain}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}`, 'utf8');
}
