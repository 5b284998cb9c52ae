import type { ListenerPolicy } from '../../auth/types.ts';

/** Extensions this server implements, advertised once TLS is up (RFC 9051 §7.2.2). */
const EXTENSIONS = [
  'LITERAL+',
  'ID',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'UNSELECT',
  'UIDPLUS',
  'MOVE',
  'CHILDREN',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'SPECIAL-USE',
  'CREATE-SPECIAL-USE',
  'ESEARCH',
  'SEARCHRES',
  'WITHIN',
  'BINARY',
  'CONDSTORE',
  'QRESYNC',
  'STATUS=SIZE',
];

/**
 * The capability list (RFC 9051 §6.1.1, STANDARDS §8.1). On a cleartext connection only STARTTLS
 * and LOGINDISABLED: no AUTH= before TLS. After TLS and before login the SASL mechanisms the
 * listener's policy allows (and LOGINDISABLED when passwords are off); after login no AUTH=.
 */
export function capabilities(o: { secure: boolean; authenticated: boolean; policy: ListenerPolicy; appendLimit: number }): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2'];
  if (!o.secure) return [...caps, 'STARTTLS', 'LOGINDISABLED'];
  if (!o.authenticated) {
    caps.push('SASL-IR');
    for (const m of o.policy.mechanisms(true)) caps.push(`AUTH=${m}`);
    if (!o.policy.plain) caps.push('LOGINDISABLED');
  }
  return [...caps, ...EXTENSIONS, `APPENDLIMIT=${o.appendLimit}`];
}
