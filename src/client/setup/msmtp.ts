import { type SnippetInput, header, mechanismFor, preferredService, tokenCommand } from './common.ts';

/** msmtprc value: double-quoted when it has spaces or quotes (msmtp(1) "CONFIGURATION FILES"). */
function v(s: string): string {
  return /^[^\s"#\\]+$/.test(s) ? s : `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An msmtprc account: submission with `auth oauthbearer|xoauth2` and the token from `passwordeval`. */
export function msmtpSnippet(input: SnippetInput): string {
  const { account } = input;
  const smtp = preferredService(account, 'submission');
  if (!smtp) throw new Error(`${account.address} has no SMTP submission service`);
  const lines = [
    header(input, 'msmtp'),
    `account ${account.address}`,
    `host ${smtp.host}`,
    `port ${smtp.port}`,
    'tls on',
    `tls_starttls ${smtp.tls === 'starttls' ? 'on' : 'off'}`,
    ...(input.ca ? [`tls_trust_file ${v(input.ca)}`] : []),
    `auth ${mechanismFor(account, smtp).toLowerCase()}`,
    `user ${account.address}`,
    `from ${account.address}`,
    `passwordeval ${v(tokenCommand(input, 'smtp'))}`,
  ];
  return `${lines.join('\n')}\n`;
}
