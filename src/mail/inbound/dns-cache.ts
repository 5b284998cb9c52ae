import { Resolver } from 'node:dns/promises';
import { type Clock, systemClock } from '../../core/clock.ts';

/** A DNS answer as `dns.promises.Resolver#resolve` gives it (TXT: arrays of strings; MX: objects). */
export type DnsAnswer = unknown[];

export interface CachingResolverOptions {
  /** `ip` or `ip:port` (`[v6]:port`); empty: the system's resolvers (RFC 1035 §7). */
  readonly servers: readonly string[];
  /** Time one query may take, retries included; then it fails with `ETIMEOUT`. */
  readonly timeoutMs: number;
  /** How long answers (and "no such name/data") are reused. */
  readonly ttlMs: number;
  /** Entries kept; the oldest go first. */
  readonly maxEntries: number;
  readonly clock?: Clock;
}

interface Entry {
  readonly expires: number;
  readonly answer?: DnsAnswer;
  readonly error?: { code: string; message: string };
}

/** Answers that mean "the name or the data does not exist": cached like answers (RFC 2308 §5). */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

function dnsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * The resolver sender authentication uses (RFC 7208 §4.6.4, RFC 6376 §3.6.2, RFC 7489 §6.6.3):
 * answers and negative answers are cached for `ttlMs`, concurrent questions for one name share one
 * query, and each query is bounded in time; a server failure or a timeout rejects with its code
 * (`ETIMEOUT`, `ESERVFAIL`, `ECONNREFUSED`…), which the checks report as `temperror`.
 */
export class CachingResolver {
  readonly #resolver: Resolver;
  readonly #o: CachingResolverOptions;
  readonly #clock: Clock;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<DnsAnswer>>();
  /** Queries sent to a server (not answered from the cache). */
  queries = 0;

  constructor(options: CachingResolverOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    // c-ares doubles the timeout on each try: two tries of a third fit the bound.
    this.#resolver = new Resolver({ timeout: Math.max(50, Math.floor(options.timeoutMs / 3)), tries: 2 });
    if (options.servers.length) this.#resolver.setServers([...options.servers]);
  }

  /** Looks up `name`/`rrtype` (the signature mailauth's `resolver` option takes). */
  resolve = async (name: string, rrtype: string): Promise<DnsAnswer> => {
    const key = `${rrtype.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;
    const now = this.#clock.now();
    const hit = this.#cache.get(key);
    if (hit && hit.expires > now) {
      if (hit.error) throw dnsError(hit.error.code, hit.error.message);
      return hit.answer as DnsAnswer;
    }
    if (hit) this.#cache.delete(key);
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const query = this.#query(key, name, rrtype).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, query);
    return query;
  };

  async #query(key: string, name: string, rrtype: string): Promise<DnsAnswer> {
    this.queries++;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsError('ETIMEOUT', `DNS query for ${name} timed out`)), this.#o.timeoutMs);
      timer.unref();
    });
    try {
      const answer = (await Promise.race([this.#resolver.resolve(name, rrtype), bound])) as DnsAnswer;
      this.#store(key, { expires: this.#clock.now() + this.#o.ttlMs, answer });
      return answer;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ESERVFAIL';
      if (NEGATIVE.has(code))
        this.#store(key, { expires: this.#clock.now() + this.#o.ttlMs, error: { code, message: (err as Error).message } });
      throw dnsError(code, (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  #store(key: string, entry: Entry): void {
    if (this.#o.ttlMs <= 0) return;
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#o.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /** Stops queries in flight (they reject with `ECANCELLED`). */
  cancel(): void {
    this.#resolver.cancel();
  }
}
