import { type SnippetInput, header, mechanismFor, preferredService, tokenCommand, urlHost, urlUser } from './common.ts';

/**
 * An aerc accounts.conf section: `imaps+oauthbearer://` (or `+xoauth2`) source and `smtps+…`
 * outgoing, tokens from `source-cred-cmd` / `outgoing-cred-cmd` (aerc-accounts(5)).
 * aerc uses the system CA store (or SSL_CERT_FILE), so a private CA is noted, not configured.
 */
export function aercSnippet(input: SnippetInput): string {
  const { account } = input;
  const imap = preferredService(account, 'imap');
  const smtp = preferredService(account, 'submission');
  const lines = [header(input, 'aerc'), `[${account.address}]`];
  if (input.ca)
    lines.splice(1, 0, `# aerc trusts the system CAs: run it with SSL_CERT_FILE=${input.ca} (or add the CA to the system store).`);
  if (imap) {
    const scheme = `${imap.tls === 'implicit' ? 'imaps' : 'imap'}+${mechanismFor(account, imap).toLowerCase()}`;
    lines.push(
      `source = ${scheme}://${urlUser(account.address)}@${urlHost(imap.host)}:${imap.port}`,
      `source-cred-cmd = ${tokenCommand(input, 'imap')}`,
    );
  }
  if (smtp) {
    const scheme = `${smtp.tls === 'implicit' ? 'smtps' : 'smtp'}+${mechanismFor(account, smtp).toLowerCase()}`;
    lines.push(
      `outgoing = ${scheme}://${urlUser(account.address)}@${urlHost(smtp.host)}:${smtp.port}`,
      `outgoing-cred-cmd = ${tokenCommand(input, 'smtp')}`,
    );
  }
  lines.push('default = INBOX', `from = <${account.address}>`, 'copy-to = Sent');
  return `${lines.join('\n')}\n`;
}
