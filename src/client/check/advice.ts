/**
 * Known provider and protocol errors translated into what to do (issue 9 item 4). Each rule names
 * where its text comes from; the first match wins.
 */
interface Rule {
  readonly test: RegExp;
  readonly advice: string;
  readonly temporary?: boolean;
}

const RULES: readonly Rule[] = [
  // Microsoft Exchange Online: SMTP AUTH (client submission) switched off for the tenant or mailbox.
  {
    test: /\b5\.7\.139\b/,
    advice:
      'Microsoft has SMTP AUTH turned off for this tenant or mailbox: an Exchange admin must enable it (Set-CASMailbox -Identity USER -SmtpClientAuthenticationDisabled $false, or the tenant-wide setting)',
  },
  // Microsoft: the token lacks the permission, or the app is not allowed for the mailbox.
  {
    test: /\b5\.7\.3\b.*Authentication unsuccessful/i,
    advice:
      'Microsoft refused the token: the app registration needs the SMTP.Send permission (delegated) and the mailbox must allow SMTP AUTH',
  },
  {
    test: /AUTHENTICATE failed\./,
    advice:
      'Microsoft refused the token for IMAP/POP: check that IMAP/POP is enabled for the mailbox and the app has IMAP.AccessAsUser.All / POP.AccessAsUser.All',
  },
  // Google: IMAP switched off in Gmail settings, or the account needs web sign-in first.
  { test: /IMAP access is disabled|not enabled for IMAP use/i, advice: 'turn on IMAP in Gmail: Settings → Forwarding and POP/IMAP' },
  {
    test: /\b5\.7\.9\b|Application-specific password required/i,
    advice: 'Google wants an app password or OAuth for this account; sign in with fingerpost login',
  },
  {
    test: /Web login required|\b5\.7\.14\b/i,
    advice: 'Google wants you to sign in on the web once (https://accounts.google.com) before mail clients may',
  },
  // RFC 5530 response codes (IMAP), RFC 3463 enhanced status codes (SMTP), RFC 3206 (POP3).
  {
    test: /\[UNAVAILABLE\]|\b4\.7\.0\b|\[SYS\/TEMP\]|\b454\b/,
    advice: 'the server has a temporary problem; try again later',
    temporary: true,
  },
  { test: /\[PRIVACYREQUIRED\]|\b5\.7\.11\b|\b538\b/, advice: 'the server wants TLS first; use the TLS endpoint' },
  { test: /\[CONTACTADMIN\]/, advice: 'the account needs attention from its administrator' },
  { test: /\[EXPIRED\]/, advice: 'the credentials have expired: sign in again with fingerpost login' },
  {
    test: /\b504\b|\b5\.5\.4\b|mechanism.*not supported|Unsupported authentication mechanism/i,
    advice: 'the server does not offer this SASL mechanism here; try --mechanism with the other one',
  },
];

/** Advice for an OAUTHBEARER/XOAUTH2 failure challenge status (RFC 7628 §3.2.2, RFC 6750 §3.1). */
export function adviceForStatus(status: string, scope: string | undefined, address: string): string | undefined {
  if (status === 'invalid_token' || status === '401')
    return `the server refused the token (expired, revoked or for another audience): run fingerpost token ${address}; if it persists, fingerpost login ${address}`;
  if (status === 'insufficient_scope' || status === '403')
    return `the token lacks a scope${scope ? ` (${scope})` : ''}: sign in again with fingerpost login ${address}`;
  if (status === 'invalid_request' || status === '400') return 'the server did not understand the SASL message';
  return undefined;
}

/** Advice for a server's failure text, if it is a known one. */
export function adviceForText(text: string): { advice: string; temporary: boolean } | undefined {
  const rule = RULES.find((r) => r.test.test(text));
  return rule ? { advice: rule.advice, temporary: rule.temporary === true } : undefined;
}

/** Advice for a connection-level error (DNS, TCP, TLS). */
export function adviceForNetwork(err: NodeJS.ErrnoException): { detail: string; advice: string; temporary: boolean } {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code))
    return {
      detail: `TLS certificate not trusted (${code})`,
      advice: 'if the server uses a private CA, pass --ca FILE (or set NODE_EXTRA_CA_CERTS)',
      temporary: false,
    };
  if (code === 'ENOTFOUND')
    return { detail: 'the host name does not resolve', advice: 'check the host name and your DNS', temporary: true };
  if (code === 'ECONNREFUSED')
    return { detail: 'connection refused', advice: 'the service is not listening there; check the port or try later', temporary: true };
  if (code === 'ETIMEDOUT') return { detail: err.message, advice: 'a firewall may block the port; try later', temporary: true };
  return { detail: err.message, advice: 'try again later', temporary: true };
}
