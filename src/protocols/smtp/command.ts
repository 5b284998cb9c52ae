import { REPLIES, type Reply } from './reply.ts';

/** ESMTP parameters of MAIL/RCPT (RFC 5321 §4.1.2 Mail-parameters), keys upper-cased. */
export type Params = ReadonlyMap<string, string | true>;

/** A parsed SMTP command (RFC 5321 §4.1, RFC 3207, RFC 4954, RFC 3030), or the reply for bad syntax. */
export type SmtpCommand =
  | { readonly verb: 'EHLO' | 'HELO'; readonly domain: string }
  /** `address` is '' for the null reverse-path `<>`. */
  | { readonly verb: 'MAIL'; readonly address: string; readonly params: Params }
  | { readonly verb: 'RCPT'; readonly address: string; readonly params: Params }
  | { readonly verb: 'DATA' | 'RSET' | 'NOOP' | 'QUIT' | 'STARTTLS' | 'HELP' }
  | { readonly verb: 'VRFY' | 'EXPN'; readonly arg: string }
  | { readonly verb: 'BDAT'; readonly size: number; readonly last: boolean }
  | { readonly verb: 'AUTH'; readonly mechanism: string; readonly initial: string | undefined }
  | { readonly verb: 'invalid'; readonly reply: Reply };

const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}-]+$/u;
const LABEL = /^(?:[A-Za-z0-9\u0080-\u{10FFFF}](?:[A-Za-z0-9\u0080-\u{10FFFF}-]*[A-Za-z0-9\u0080-\u{10FFFF}])?)$/u;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ESMTP_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value: any CHAR except "=", SP and controls (RFC 5321 §4.1.2); UTF-8 allowed with SMTPUTF8.
const ESMTP_VALUE = /^[^\x00-\x20=\x7f]+$/;

/** RFC 5321 §4.1.2 Domain or address-literal (`[192.0.2.1]`, `[IPv6:…]`). */
export function isValidDomain(domain: string): boolean {
  if (domain.startsWith('[') && domain.endsWith(']')) {
    const inner = domain.slice(1, -1);
    return IPV4.test(inner) || /^IPv6:[0-9A-Fa-f:.]+$/.test(inner);
  }
  if (domain.length === 0 || domain.length > 255) return false;
  return domain
    .replace(/\.$/, '')
    .split('.')
    .every((l) => l.length > 0 && l.length <= 63 && LABEL.test(l));
}

function isDotString(local: string): boolean {
  return local.split('.').every((atom) => ATEXT.test(atom));
}

/**
 * Parses a Path `<[@route:]local@domain>` or `<>` at the start of `input` (RFC 5321 §4.1.2).
 * Returns the mailbox (a quoted local part that is a valid dot-string is unquoted) and the rest.
 */
export function parsePath(input: string, allowNull: boolean): { address: string; rest: string } | undefined {
  if (!input.startsWith('<')) return undefined;
  let i = 1;
  if (input[i] === '>' && allowNull) return { address: '', rest: input.slice(2) };
  if (input[i] === '@') {
    // A source route (obsolete, RFC 5321 §4.1.2): accepted and ignored.
    const colon = input.indexOf(':', i);
    if (colon < 0) return undefined;
    i = colon + 1;
  }
  let local: string;
  if (input[i] === '"') {
    let j = i + 1;
    let value = '';
    for (; j < input.length && input[j] !== '"'; j++) {
      const c = input[j]!;
      if (c === '\\') {
        j++;
        if (j >= input.length) return undefined;
        value += input[j];
      } else value += c;
    }
    if (input[j] !== '"' || /[\x00-\x1f\x7f]/.test(value)) return undefined;
    local = isDotString(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`;
    i = j + 1;
  } else {
    const at = input.indexOf('@', i);
    if (at < 0) return undefined;
    local = input.slice(i, at);
    if (!isDotString(local)) return undefined;
    i = at;
  }
  if (input[i] !== '@') return undefined;
  const close = input.indexOf('>', i);
  if (close < 0) return undefined;
  const domain = input.slice(i + 1, close);
  if (!isValidDomain(domain) || local.length > 64) return undefined;
  return { address: `${local}@${domain}`, rest: input.slice(close + 1) };
}

function parseParams(rest: string): Params | undefined {
  const params = new Map<string, string | true>();
  for (const word of rest.split(' ')) {
    if (!word) continue;
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    if (!ESMTP_KEYWORD.test(key)) return undefined;
    if (eq < 0) params.set(key, true);
    else {
      const value = word.slice(eq + 1);
      if (!ESMTP_VALUE.test(value)) return undefined;
      params.set(key, value);
    }
  }
  return params;
}

function pathCommand(verb: 'MAIL' | 'RCPT', arg: string): SmtpCommand {
  const prefix = verb === 'MAIL' ? 'FROM:' : 'TO:';
  if (arg.slice(0, prefix.length).toUpperCase() !== prefix) {
    return { verb: 'invalid', reply: REPLIES.syntax(`Syntax: ${verb} ${prefix}<address>`) };
  }
  // Many clients put a space after the colon; RFC 5321 does not, but it is harmless to accept.
  let rest = arg.slice(prefix.length).replace(/^ +/, '');
  if (verb === 'RCPT' && /^<postmaster>/i.test(rest)) {
    rest = rest.slice('<postmaster>'.length);
    const params = parseParams(rest);
    if (!params) return { verb: 'invalid', reply: REPLIES.syntax('Syntax error in parameters') };
    return { verb, address: 'postmaster', params };
  }
  const path = parsePath(rest, verb === 'MAIL');
  if (!path) return { verb: 'invalid', reply: { code: 501, status: '5.1.3', text: 'Bad address syntax' } };
  if (path.rest && !path.rest.startsWith(' ')) {
    return { verb: 'invalid', reply: REPLIES.syntax('Syntax error in parameters') };
  }
  const params = parseParams(path.rest);
  if (!params) return { verb: 'invalid', reply: REPLIES.syntax('Syntax error in parameters') };
  return { verb, address: path.address, params };
}

/** Parses one command line (without CRLF). Unknown verbs and bad arguments give the reply to send. */
export function parseCommand(line: string): SmtpCommand {
  const space = line.indexOf(' ');
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const arg = space < 0 ? '' : line.slice(space + 1);
  const noArgs = (v: 'DATA' | 'RSET' | 'NOOP' | 'QUIT' | 'STARTTLS'): SmtpCommand =>
    arg.trim() ? { verb: 'invalid', reply: REPLIES.syntax(`Syntax: ${v} takes no arguments`) } : { verb: v };
  switch (verb) {
    case 'EHLO':
    case 'HELO': {
      const domain = arg.trim();
      if (!domain || /[\s\x00-\x1f\x7f]/.test(domain)) return { verb: 'invalid', reply: REPLIES.syntax(`Syntax: ${verb} hostname`) };
      return { verb, domain };
    }
    case 'MAIL':
    case 'RCPT':
      return pathCommand(verb, arg);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      return noArgs(verb);
    case 'NOOP':
      return { verb };
    case 'HELP':
      return { verb };
    case 'VRFY':
    case 'EXPN':
      return arg.trim() ? { verb, arg: arg.trim() } : { verb: 'invalid', reply: REPLIES.syntax(`Syntax: ${verb} address`) };
    case 'BDAT': {
      const m = /^(\d{1,15})(?: +(LAST))? *$/i.exec(arg);
      if (!m) return { verb: 'invalid', reply: REPLIES.syntax('Syntax: BDAT size [LAST]') };
      return { verb, size: Number(m[1]), last: m[2] !== undefined };
    }
    case 'AUTH': {
      const m = /^([A-Za-z0-9_-]{1,20})(?: +(\S+))? *$/.exec(arg);
      if (!m) return { verb: 'invalid', reply: REPLIES.syntax('Syntax: AUTH mechanism [initial-response]') };
      return { verb, mechanism: m[1]!.toUpperCase(), initial: m[2] };
    }
    default:
      return { verb: 'invalid', reply: REPLIES.unrecognized };
  }
}
