import { type SnippetInput, header, mechanismFor, preferredService, tokenCommand, urlHost, urlUser } from './common.ts';

/** Double-quoted muttrc string: backslash, double quote, backtick and `$` escaped (muttrc(5) "SYNTAX"). */
function q(s: string): string {
  return `"${s.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

/**
 * A muttrc (mutt 2.x) or neomuttrc block: IMAP folder and SMTP submission with OAUTHBEARER or
 * XOAUTH2, tokens from `imap_oauth_refresh_command` / `smtp_oauth_refresh_command` (run by mutt on
 * every connection), TLS required.
 */
export function muttSnippet(input: SnippetInput, flavour: 'mutt' | 'neomutt'): string {
  const { account } = input;
  const imap = preferredService(account, 'imap');
  const smtp = preferredService(account, 'submission');
  const pop = preferredService(account, 'pop3');
  const lines = [header(input, flavour === 'mutt' ? 'mutt' : 'NeoMutt'), `set from = ${q(account.address)}`, 'set ssl_force_tls = yes'];
  if (input.ca) lines.push(`set ssl_ca_certificates_file = ${q(input.ca)}`);
  if (imap) {
    const scheme = imap.tls === 'implicit' ? 'imaps' : 'imap';
    lines.push(
      '',
      `set imap_user = ${q(account.address)}`,
      `set folder = ${q(`${scheme}://${urlUser(account.address)}@${urlHost(imap.host)}:${imap.port}/`)}`,
      'set spoolfile = "+INBOX"',
      `set imap_authenticators = ${q(mechanismFor(account, imap).toLowerCase())}`,
      `set imap_oauth_refresh_command = ${q(tokenCommand(input, 'imap'))}`,
    );
    if (imap.tls === 'starttls') lines.push('set ssl_starttls = yes');
  } else if (pop) {
    lines.push(
      '',
      `set pop_user = ${q(account.address)}`,
      `set spoolfile = ${q(`${pop.tls === 'implicit' ? 'pops' : 'pop'}://${urlUser(account.address)}@${urlHost(pop.host)}:${pop.port}/`)}`,
      `set pop_authenticators = ${q(mechanismFor(account, pop).toLowerCase())}`,
      `set pop_oauth_refresh_command = ${q(tokenCommand(input, 'pop3'))}`,
    );
  }
  if (smtp) {
    const scheme = smtp.tls === 'implicit' ? 'smtps' : 'smtp';
    lines.push(
      '',
      `set smtp_url = ${q(`${scheme}://${urlUser(account.address)}@${urlHost(smtp.host)}:${smtp.port}/`)}`,
      `set smtp_authenticators = ${q(mechanismFor(account, smtp).toLowerCase())}`,
      `set smtp_oauth_refresh_command = ${q(tokenCommand(input, 'smtp'))}`,
    );
    if (smtp.tls === 'starttls') lines.push('set ssl_starttls = yes');
  }
  return `${lines.join('\n')}\n`;
}
