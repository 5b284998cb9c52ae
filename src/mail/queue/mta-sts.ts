import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { type Clock, systemClock } from '../../core/clock.ts';

/** A domain's MTA-STS policy (RFC 8461 §3.2). */
export interface MtaStsPolicy {
  readonly id: string;
  readonly mode: 'enforce' | 'testing' | 'none';
  /** MX patterns: host names, or `*.` followed by a domain (one leftmost label). */
  readonly mx: readonly string[];
  /** Seconds the policy may be cached. */
  readonly maxAge: number;
}

/** Looks up one name and type (src/mail/inbound/dns-cache.ts CachingResolver#resolve). */
export type Resolve = (name: string, rrtype: string) => Promise<unknown[]>;

export interface MtaStsOptions {
  readonly resolve: Resolve;
  /** Extra PEM CAs trusted for policy hosts besides the system's (private CAs, tests). */
  readonly ca?: string;
  /** Port of the policy hosts (443, RFC 8461 §3.3). */
  readonly port?: number;
  readonly timeoutMs: number;
  readonly clock?: Clock;
}

/** RFC 8461 §3.3: a policy body is small; larger answers are not policies. */
const MAX_POLICY_BYTES = 64 * 1024;
/** RFC 8461 §3.2: max_age is at most 31557600 seconds (one year). */
const MAX_AGE = 31_557_600;

/** Parses a policy body (RFC 8461 §3.2: `key: value` lines); undefined when it is not a valid STSv1 policy. */
export function parsePolicy(body: string, id: string): MtaStsPolicy | undefined {
  const fields = new Map<string, string[]>();
  for (const line of body.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), m[2]!]);
  }
  if (fields.get('version')?.[0] !== 'STSv1') return undefined;
  const mode = fields.get('mode')?.[0];
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return undefined;
  const maxAge = Number(fields.get('max_age')?.[0]);
  if (!Number.isInteger(maxAge) || maxAge < 0) return undefined;
  const mx = (fields.get('mx') ?? []).map((p) => p.toLowerCase().replace(/\.$/, ''));
  if (mode !== 'none' && !mx.length) return undefined;
  return { id, mode, mx, maxAge: Math.min(maxAge, MAX_AGE) };
}

/** Does an MX host match a policy pattern (RFC 8461 §4.1: `*.` matches exactly one leftmost label)? */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!pattern.startsWith('*.')) return h === pattern;
  const suffix = pattern.slice(1);
  return h.endsWith(suffix) && !h.slice(0, -suffix.length).includes('.') && h.length > suffix.length;
}

/** The `id` of the domain's `_mta-sts` TXT record (RFC 8461 §3.1); undefined when there is none, or several. */
function recordId(answer: unknown[]): string | undefined {
  const records = answer.map((a) => (Array.isArray(a) ? a.join('') : String(a))).filter((t) => /^v=STSv1(;|$)/.test(t.replace(/^\s+/, '')));
  if (records.length !== 1) return undefined;
  return /(?:^|;)\s*id=([A-Za-z0-9]{1,32})\s*(?:;|$)/.exec(records[0]!)?.[1];
}

interface Cached {
  readonly policy: MtaStsPolicy;
  readonly expires: number;
}

/**
 * MTA-STS for outbound delivery (RFC 8461 §5): the `_mta-sts` TXT record says whether the domain
 * has a policy and its id; the policy is fetched over HTTPS from `mta-sts.DOMAIN` (certificate
 * verified, no redirects, bounded in size and time) and cached for its max_age, refreshed when the
 * id changes. A domain whose policy cannot be had is delivered to as if it had none (§5).
 */
export class MtaStsPolicies {
  readonly #o: MtaStsOptions;
  readonly #clock: Clock;
  readonly #cache = new Map<string, Cached>();
  readonly #ca: string[] | undefined;

  constructor(options: MtaStsOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#ca = options.ca ? [...rootCertificates, options.ca] : undefined;
  }

  /** The policy in force for `domain`, or undefined when it has none (or none could be had). */
  async policy(domain: string): Promise<MtaStsPolicy | undefined> {
    const d = domain.toLowerCase();
    const now = this.#clock.now();
    const cached = this.#cache.get(d);
    const valid = cached && cached.expires > now ? cached.policy : undefined;
    let id: string | undefined;
    try {
      id = recordId(await this.#o.resolve(`_mta-sts.${d}`, 'TXT'));
    } catch {
      // No record or DNS trouble: a cached policy stays in force until it expires (§5.1).
      return valid;
    }
    if (!id) return valid;
    if (valid && valid.id === id) return valid;
    const fetched = await this.#fetch(d, id).catch(() => undefined);
    if (!fetched) return valid;
    this.#cache.set(d, { policy: fetched, expires: now + fetched.maxAge * 1000 });
    return fetched;
  }

  /** GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 §3.3). */
  async #fetch(domain: string, id: string): Promise<MtaStsPolicy | undefined> {
    const host = `mta-sts.${domain}`;
    const addresses = (await this.#o.resolve(host, 'A').catch(() => [])) as string[];
    const address = addresses.find((a) => typeof a === 'string');
    if (!address) return undefined;
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: address,
          servername: host,
          port: this.#o.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          headers: { host, 'user-agent': 'Fingerpost MTA-STS' },
          ...(this.#ca ? { ca: this.#ca } : {}),
          timeout: this.#o.timeoutMs,
          minVersion: 'TLSv1.2',
        },
        (res) => {
          // §3.3: only 200 counts; redirects are not followed.
          if (res.statusCode !== 200 || !/^text\/plain\b/i.test(res.headers['content-type'] ?? '')) {
            res.resume();
            reject(new Error(`policy host answered ${res.statusCode}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY_BYTES) req.destroy(new Error('policy too large'));
            else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('policy fetch timed out')));
      req.on('error', reject);
      req.end();
    });
    return parsePolicy(body, id);
  }
}
