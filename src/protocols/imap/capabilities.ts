import type { ListenerPolicy } from '../../auth/types.ts';
import { RIGHTS_CAPABILITY } from '../../mail/sharing/rights.ts';
import type { CommandName } from './wire/types.ts';

/**
 * The extensions this server implements (RFC 9051 §7.2.2), each with the commands (names in the
 * command registry, commands/index.ts) that carry it. A test ties the two: nothing is advertised
 * without its commands. Extensions that only change the reader or responses list what they touch.
 */
export const EXTENSIONS: ReadonlyArray<{ readonly name: string; readonly rfc: string; readonly commands: readonly CommandName[] }> = [
  { name: 'LITERAL+', rfc: 'RFC 7888', commands: ['APPEND'] },
  { name: 'LITERAL-', rfc: 'RFC 7888 §5', commands: ['APPEND'] },
  { name: 'ID', rfc: 'RFC 2971', commands: ['ID'] },
  { name: 'MULTIAPPEND', rfc: 'RFC 3502', commands: ['APPEND'] },
  { name: 'CATENATE', rfc: 'RFC 4469', commands: ['APPEND', 'REPLACE'] },
  { name: 'COMPRESS=DEFLATE', rfc: 'RFC 4978', commands: ['COMPRESS'] },
  { name: 'ENABLE', rfc: 'RFC 5161', commands: ['ENABLE'] },
  { name: 'IDLE', rfc: 'RFC 2177', commands: ['IDLE'] },
  { name: 'NOTIFY', rfc: 'RFC 5465', commands: ['NOTIFY'] },
  { name: 'NAMESPACE', rfc: 'RFC 2342', commands: ['NAMESPACE'] },
  { name: 'ACL', rfc: 'RFC 4314', commands: ['SETACL', 'DELETEACL', 'GETACL', 'LISTRIGHTS', 'MYRIGHTS'] },
  { name: `RIGHTS=${RIGHTS_CAPABILITY}`, rfc: 'RFC 4314 §2.1', commands: ['SETACL', 'LISTRIGHTS', 'MYRIGHTS'] },
  { name: 'QUOTA', rfc: 'RFC 9208', commands: ['GETQUOTA', 'GETQUOTAROOT', 'SETQUOTA', 'APPEND', 'COPY'] },
  { name: 'QUOTA=RES-STORAGE', rfc: 'RFC 9208 §5.1', commands: ['GETQUOTA', 'GETQUOTAROOT', 'STATUS'] },
  { name: 'UNSELECT', rfc: 'RFC 3691', commands: ['UNSELECT'] },
  { name: 'UIDPLUS', rfc: 'RFC 4315', commands: ['UID EXPUNGE', 'APPEND', 'COPY'] },
  { name: 'MOVE', rfc: 'RFC 6851', commands: ['MOVE'] },
  { name: 'REPLACE', rfc: 'RFC 8508', commands: ['REPLACE'] },
  { name: 'CHILDREN', rfc: 'RFC 3348', commands: ['LIST'] },
  { name: 'LIST-EXTENDED', rfc: 'RFC 5258', commands: ['LIST'] },
  { name: 'LIST-STATUS', rfc: 'RFC 5819', commands: ['LIST', 'STATUS'] },
  { name: 'SPECIAL-USE', rfc: 'RFC 6154', commands: ['LIST'] },
  { name: 'CREATE-SPECIAL-USE', rfc: 'RFC 6154', commands: ['CREATE'] },
  { name: 'ESEARCH', rfc: 'RFC 4731', commands: ['SEARCH'] },
  { name: 'SEARCHRES', rfc: 'RFC 5182', commands: ['SEARCH', 'FETCH', 'STORE', 'COPY'] },
  { name: 'WITHIN', rfc: 'RFC 5032', commands: ['SEARCH'] },
  { name: 'BINARY', rfc: 'RFC 3516', commands: ['FETCH', 'APPEND'] },
  { name: 'CONDSTORE', rfc: 'RFC 7162', commands: ['SELECT', 'FETCH', 'STORE', 'SEARCH', 'STATUS', 'ENABLE'] },
  { name: 'QRESYNC', rfc: 'RFC 7162', commands: ['SELECT', 'FETCH', 'ENABLE'] },
  { name: 'STATUS=SIZE', rfc: 'RFC 8438', commands: ['STATUS'] },
  { name: 'SAVEDATE', rfc: 'RFC 8514', commands: ['FETCH', 'SEARCH'] },
  { name: 'PREVIEW', rfc: 'RFC 8970', commands: ['FETCH'] },
  { name: 'OBJECTID', rfc: 'RFC 8474', commands: ['CREATE', 'SELECT', 'STATUS', 'FETCH', 'SEARCH'] },
  { name: 'SORT', rfc: 'RFC 5256', commands: ['SORT'] },
  { name: 'SORT=DISPLAY', rfc: 'RFC 5957', commands: ['SORT'] },
  { name: 'ESORT', rfc: 'RFC 5267', commands: ['SORT'] },
  { name: 'CONTEXT=SEARCH', rfc: 'RFC 5267 §4', commands: ['SEARCH', 'CANCELUPDATE'] },
  { name: 'CONTEXT=SORT', rfc: 'RFC 5267 §4', commands: ['SORT', 'CANCELUPDATE'] },
  { name: 'UIDONLY', rfc: 'RFC 9586', commands: ['ENABLE', 'FETCH', 'STORE', 'SEARCH', 'EXPUNGE'] },
  { name: 'METADATA', rfc: 'RFC 5464', commands: ['GETMETADATA', 'SETMETADATA'] },
  { name: 'PARTIAL', rfc: 'RFC 9394', commands: ['SEARCH', 'SORT', 'FETCH'] },
  { name: 'THREAD=ORDEREDSUBJECT', rfc: 'RFC 5256', commands: ['THREAD'] },
  { name: 'THREAD=REFERENCES', rfc: 'RFC 5256', commands: ['THREAD'] },
];

/**
 * The capability list (RFC 9051 §6.1.1). On a cleartext connection only STARTTLS
 * and LOGINDISABLED: no AUTH= before TLS. After TLS and before login the SASL mechanisms the
 * listener's policy allows (and LOGINDISABLED when passwords are off); after login no AUTH=.
 */
export function capabilities(o: {
  secure: boolean;
  authenticated: boolean;
  policy: ListenerPolicy;
  appendLimit: number;
  /** LITERAL+ unless false, then LITERAL- (`imap.literal_plus`). */
  literalPlus?: boolean;
}): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2'];
  if (!o.secure) return [...caps, 'STARTTLS', 'LOGINDISABLED'];
  if (!o.authenticated) {
    caps.push('SASL-IR');
    for (const m of o.policy.mechanisms(true)) caps.push(`AUTH=${m}`);
    if (!o.policy.plain) caps.push('LOGINDISABLED');
  }
  const literal = o.literalPlus === false ? 'LITERAL+' : 'LITERAL-';
  return [...caps, ...EXTENSIONS.map((e) => e.name).filter((n) => n !== literal), `APPENDLIMIT=${o.appendLimit}`];
}
