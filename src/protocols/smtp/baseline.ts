import type { Logger } from '../../core/log.ts';
import { isIP } from 'node:net';
import type { DnsblChecker } from '../../mail/inbound/dnsbl.ts';
import type { Greylist } from '../../mail/inbound/greylist.ts';
import { inList } from '../../mail/inbound/policy.ts';
import { addressKey, ipMatcher, normalizeIp } from '../../net/cidr.ts';

/** A refusal in SMTP terms (RFC 5321 §4.2, RFC 3463 codes). */
export interface BaselineRefusal {
  readonly code: 451 | 554;
  readonly enhanced: string;
  readonly text: string;
}

/** Counters the baseline feeds (metrics.ts). */
export interface BaselineMetrics {
  dnsbl(result: 'listed' | 'clean' | 'error' | 'allowed', zone?: string): void;
  greylist(result: 'delayed' | 'passed' | 'allowed'): void;
}

export interface InboundBaselineOptions {
  readonly dnsbl?: DnsblChecker;
  readonly greylist?: Greylist;
  /** Client addresses (CIDR or exact) never looked up nor greylisted. */
  readonly clientAllow: readonly string[];
  /** Sender domains (and subdomains) never greylisted. */
  readonly greylistAllowDomains: readonly string[];
  readonly metrics?: BaselineMetrics;
  readonly logger: Logger;
}

/**
 * The client part of a greylisting triplet (RFC 6647 §4.2.1): an IPv4 /24 and an IPv6 /64, since
 * large senders retry from another address of the same pool.
 */
export function clientNetwork(ip: string): string {
  const n = normalizeIp(ip);
  if (isIP(n) !== 4) return addressKey(n);
  return `${n.split('.').slice(0, 3).join('.')}.0/24`;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * The built-in checks for operators without a spam engine, before any body is sent: DNS
 * blocklists at MAIL FROM (RFC 5782, 554 5.7.1) and greylisting at RCPT TO (RFC 6647, 451 4.7.1),
 * with allow lists for client addresses and sender domains.
 */
export class InboundBaseline {
  readonly #o: InboundBaselineOptions;
  readonly #allowed: (ip: string) => boolean;

  constructor(options: InboundBaselineOptions) {
    this.#o = options;
    this.#allowed = ipMatcher(options.clientAllow);
  }

  /** At MAIL FROM: is the client listed in a configured blocklist? */
  async atMail(ip: string, id: string): Promise<BaselineRefusal | undefined> {
    const { dnsbl, metrics, logger } = this.#o;
    if (!dnsbl?.enabled) return undefined;
    if (this.#allowed(ip)) {
      metrics?.dnsbl('allowed');
      return undefined;
    }
    const result = await dnsbl.check(normalizeIp(ip));
    if (result.kind !== 'listed') {
      metrics?.dnsbl(result.kind);
      if (result.kind === 'error') logger.warn({ session: id, ip }, 'no DNS blocklist answered');
      return undefined;
    }
    const { zone, code, reason } = result.listing;
    metrics?.dnsbl('listed', zone);
    logger.info({ session: id, ip, zone, code }, 'client listed in a DNS blocklist');
    return {
      code: 554,
      enhanced: '5.7.1',
      text: `Service unavailable; client [${ip}] blocked using ${zone}${reason ? `: ${reason}` : ''}`.slice(0, 400),
    };
  }

  /** At RCPT TO for a local recipient: has this triplet waited its greylisting delay? */
  async atRcpt(ip: string, sender: string, recipient: string, id: string): Promise<BaselineRefusal | undefined> {
    const { greylist, metrics, logger } = this.#o;
    if (!greylist) return undefined;
    const domain = sender ? domainOf(sender) : '';
    if (inList(domain, this.#o.greylistAllowDomains) || this.#allowed(ip)) {
      metrics?.greylist('allowed');
      return undefined;
    }
    const verdict = await greylist.check(clientNetwork(ip), sender, recipient);
    metrics?.greylist(verdict.kind);
    if (verdict.kind === 'passed') {
      if (verdict.first) logger.info({ session: id, ip, sender, recipient }, 'greylisting passed');
      return undefined;
    }
    return {
      code: 451,
      enhanced: '4.7.1',
      text: `Greylisted (RFC 6647): please try again in ${verdict.retryInSeconds} seconds`,
    };
  }
}
