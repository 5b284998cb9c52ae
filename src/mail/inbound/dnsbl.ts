import { isIP } from 'node:net';
import type { DnsAnswer } from './dns-cache.ts';

/** Looks up one name and record type (CachingResolver#resolve, src/mail/inbound/dns-cache.ts). */
export type Resolve = (name: string, rrtype: string) => Promise<DnsAnswer>;

/** A client address found in a blocklist: the zone and the reason it publishes in TXT. */
export interface DnsblListing {
  readonly zone: string;
  readonly code: string;
  readonly reason: string;
}

/** The outcome of the lookups: listed (first zone that lists), clean, or no zone answered. */
export type DnsblResult =
  | { readonly kind: 'listed'; readonly listing: DnsblListing }
  | { readonly kind: 'clean' }
  | { readonly kind: 'error' };

/**
 * The query name for an address (RFC 5782 §2.1 IPv4: octets reversed; §2.4 IPv6: the 32 nibbles
 * reversed), without the zone; undefined for text that is not an address. IPv4-mapped IPv6
 * addresses must be given as IPv4 (src/net/cidr.ts normalizeIp).
 */
export function reversedName(ip: string): string | undefined {
  const n = ip;
  const family = isIP(n);
  if (family === 4) return n.split('.').reverse().join('.');
  if (family !== 6) return undefined;
  const [head = '', tail] = n.replace(/%.*$/, '').split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all
    .map((g) => g.toLowerCase().padStart(4, '0'))
    .join('')
    .split('')
    .reverse()
    .join('.');
}

/**
 * A listing answer (RFC 5782 §2.1: an A record in 127.0.0.0/8, 127.0.0.1 never a listing). Answers
 * in 127.255.255.0/24 are the lists' own error codes (a refused or rate-limited resolver), and
 * anything outside 127/8 is a misconfigured or wildcarded zone: neither blocks mail.
 */
function listingCode(answer: DnsAnswer): string | undefined {
  for (const a of answer) {
    if (typeof a !== 'string' || !a.startsWith('127.')) continue;
    if (a === '127.0.0.1' || a.startsWith('127.255.255.')) continue;
    return a;
  }
  return undefined;
}

/** Printable ASCII only, bounded: the reason goes into an SMTP reply line. */
function cleanReason(txt: DnsAnswer): string {
  const first = txt[0];
  const text = Array.isArray(first) ? first.join('') : typeof first === 'string' ? first : '';
  return text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * DNS blocklist checks of a client address (RFC 5782): every zone is asked in parallel through
 * the caching resolver; the first zone in configured order that lists the address decides. A zone
 * that fails or times out counts as not listing (mail is never refused on a DNS failure).
 */
export class DnsblChecker {
  readonly #zones: readonly string[];
  readonly #resolve: Resolve;

  constructor(zones: readonly string[], resolve: Resolve) {
    this.#zones = zones.map((z) => z.toLowerCase().replace(/\.$/, ''));
    this.#resolve = resolve;
  }

  get enabled(): boolean {
    return this.#zones.length > 0;
  }

  async check(ip: string): Promise<DnsblResult> {
    const reversed = reversedName(ip);
    if (!reversed || !this.#zones.length) return { kind: 'clean' };
    const answers = await Promise.all(
      this.#zones.map(async (zone) => {
        const name = `${reversed}.${zone}`;
        try {
          const code = listingCode(await this.#resolve(name, 'A'));
          if (!code) return 'clean' as const;
          const reason = await this.#resolve(name, 'TXT').then(cleanReason, () => '');
          return { zone, code, reason };
        } catch (err) {
          const code = (err as { code?: string }).code;
          return code === 'ENOTFOUND' || code === 'ENODATA' ? ('clean' as const) : ('error' as const);
        }
      }),
    );
    for (const a of answers) if (typeof a === 'object') return { kind: 'listed', listing: a };
    return answers.every((a) => a === 'error') ? { kind: 'error' } : { kind: 'clean' };
  }
}
