import { header, mechanismFor, preferredService, type SnippetInput, tokenCommand } from './common.ts';

/** mbsyncrc string: double-quoted, backslash and quote escaped (mbsync(1) "CONFIGURATION"). */
function q(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * An mbsyncrc (isync) account, store and channel: IMAP with the token from `PassCmd`. mbsync
 * authenticates through Cyrus SASL, whose common plugins (Debian libsasl2-modules-kdexoauth2,
 * sasl-xoauth2) implement XOAUTH2, so XOAUTH2 is chosen wherever the server offers it.
 * `SSLType` is accepted by isync 1.4 and 1.5.
 */
export function mbsyncSnippet(input: SnippetInput, maildir = `~/Mail/${input.account.address}/`): string {
  const { account } = input;
  const imap = preferredService(account, 'imap');
  if (!imap) throw new Error(`${account.address} has no IMAP service`);
  const name = account.address;
  const lines = [
    header(input, 'mbsync (isync)'),
    `IMAPAccount ${name}`,
    `Host ${imap.host}`,
    `Port ${imap.port}`,
    `User ${account.address}`,
    `PassCmd ${q(tokenCommand(input, 'imap'))}`,
    `AuthMechs ${imap.auth.some((a) => a.toUpperCase() === 'XOAUTH2') ? 'XOAUTH2' : mechanismFor(account, imap)}`,
    `SSLType ${imap.tls === 'implicit' ? 'IMAPS' : 'STARTTLS'}`,
    ...(input.ca ? [`CertificateFile ${q(input.ca)}`] : []),
    '',
    `IMAPStore ${name}-remote`,
    `Account ${name}`,
    '',
    `MaildirStore ${name}-local`,
    `Path ${q(maildir)}`,
    `Inbox ${q(`${maildir.replace(/\/$/, '')}/INBOX`)}`,
    'SubFolders Verbatim',
    '',
    `Channel ${name}`,
    `Far :${name}-remote:`,
    `Near :${name}-local:`,
    'Patterns *',
    'Create Both',
    'SyncState *',
  ];
  return `${lines.join('\n')}\n`;
}
