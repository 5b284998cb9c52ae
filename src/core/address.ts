import { FingerpostError } from './errors.ts';

/** An email address split into its parts; the domain is lower-cased, the local part kept. */
export interface Address {
  readonly local: string;
  readonly domain: string;
  /** `local@domain` with the domain lower-cased: the form used as a lookup key. */
  readonly normalized: string;
}

const LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
const DOMAIN_RE =
  /^(?=.{1,253}$)(?:[a-z0-9\u0080-\uffff](?:[a-z0-9\u0080-\uffff-]{0,61}[a-z0-9\u0080-\uffff])?)(?:\.[a-z0-9\u0080-\uffff](?:[a-z0-9\u0080-\uffff-]{0,61}[a-z0-9\u0080-\uffff])?)*$/;

/** Validates a domain name (RFC 5321 §4.1.2 Domain, U-labels allowed) and returns it lower-cased. */
export function parseDomain(input: string): string {
  const domain = input.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN_RE.test(domain)) {
    throw new FingerpostError('invalid_argument', `"${input}" is not a valid domain name`, {
      hint: 'use a name like example.com',
    });
  }
  return domain;
}

/**
 * Parses `local@domain` (RFC 5321 §4.1.2 Mailbox, dot-atom local parts only; SMTPUTF8 allowed).
 * Local parts are compared case-insensitively by the directory, but stored as given.
 */
export function parseAddress(input: string): Address {
  const at = input.lastIndexOf('@');
  const local = at > 0 ? input.slice(0, at) : '';
  if (at <= 0 || local.length > 64 || !LOCAL_RE.test(local)) {
    throw new FingerpostError('invalid_argument', `"${input}" is not a valid email address`, {
      hint: 'use an address like alice@example.com',
    });
  }
  const domain = parseDomain(input.slice(at + 1));
  return { local, domain, normalized: `${local.toLowerCase()}@${domain}` };
}

/** Like parseAddress but returns undefined instead of throwing. */
export function tryParseAddress(input: string): Address | undefined {
  try {
    return parseAddress(input);
  } catch {
    return undefined;
  }
}
