import { type SnippetInput, header, mechanismFor, preferredService, tokenCommand } from './common.ts';

/** mbsyncrc string: double-quoted, backslash and quote escaped (mbsync(1) "CONFIGURATION"). */
function q(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * An mbsyncrc (isync) account, store and channel: IMAP with the token from `PassCmd` and
 * `AuthMechs` OAUTHBEARER/XOAUTH2, which need a Cyrus SASL plugin for the mechanism (for XOAUTH2 on
 * Debian: libsasl2-modules-kdexoauth2). `SSLType` is accepted by isync 1.4 and 1.5.
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
    `AuthMechs ${mechanismFor(account, imap)}`,
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
