import { isIP } from 'node:net';
import { ipMatcher, normalizeIp } from '../../net/cidr.ts';

export interface FailureLimitsOptions {
  /** Failures from one source within `windowMs` before it is banned. */
  readonly ipFailures: number;
  /** Distinct accounts failing from one source within `windowMs` before it is banned (spraying). */
  readonly sprayAccounts: number;
  /** Failures for one account within `windowMs` after which its attempts are slowed down. */
  readonly accountFailures: number;
  /** Failures from one source before its failures are answered late. */
  readonly delayAfter: number;
  readonly maxDelayMs: number;
  readonly windowMs: number;
  readonly banMs: number;
  /** Sources never delayed or banned (CIDR or exact). */
  readonly exempt: readonly string[];
  readonly now?: () => number;
  /** Most sources and accounts remembered; the oldest are forgotten first. */
  readonly maxEntries?: number;
}

export type BanReason = 'ip_failures' | 'spray';

/** What to do before verifying: refuse (banned) or wait a little (an account under attack). */
export type Gate = { readonly allowed: true; readonly delayMs: number } | { readonly allowed: false; readonly retryAfterMs: number };

interface Source {
  failures: number[];
  accounts: Map<string, number>;
  bannedUntil: number;
}

const BASE_DELAY_MS = 250;

/**
 * The key a client address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber's
 * prefix), so rotating addresses inside a prefix does not reset the counters.
 */
export function sourceKey(ip: string): string {
  const n = normalizeIp(ip);
  if (isIP(n) !== 6) return n;
  const [head = '', tail = ''] = n.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = n.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Failure counters shared by every protocol (issue 3 step 5): per source and per account in a
 * sliding window, doubling delays before failures are answered, temporary bans for a source with
 * too many failures or failures on too many accounts (password spraying). In memory, per node.
 */
export class FailureLimits {
  readonly #o: FailureLimitsOptions;
  readonly #now: () => number;
  readonly #exempt: (ip: string) => boolean;
  readonly #sources = new Map<string, Source>();
  readonly #accounts = new Map<string, number[]>();
  readonly #max: number;

  constructor(options: FailureLimitsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#exempt = ipMatcher(options.exempt);
    this.#max = options.maxEntries ?? 100_000;
  }

  /** Sources banned right now. */
  bannedCount(): number {
    const now = this.#now();
    let n = 0;
    for (const s of this.#sources.values()) if (s.bannedUntil > now) n++;
    return n;
  }

  /** Before verifying a credential from `ip` for `account` (the claimed name, lower-cased). */
  check(ip: string, account: string | undefined): Gate {
    if (this.#exempt(ip)) return { allowed: true, delayMs: 0 };
    const now = this.#now();
    const source = this.#sources.get(sourceKey(ip));
    if (source && source.bannedUntil > now) return { allowed: false, retryAfterMs: source.bannedUntil - now };
    const fails = account ? this.#recent(this.#accounts.get(account), now) : 0;
    return { allowed: true, delayMs: this.#delay(fails - this.#o.accountFailures + 1) };
  }

  /** Records a failure; returns how long to wait before answering and whether a ban began. */
  failure(ip: string, account: string | undefined): { delayMs: number; banned?: BanReason } {
    if (this.#exempt(ip)) return { delayMs: 0 };
    const now = this.#now();
    const key = sourceKey(ip);
    let source = this.#sources.get(key);
    if (!source) {
      this.#makeRoom(this.#sources);
      source = { failures: [], accounts: new Map(), bannedUntil: 0 };
    } else {
      this.#sources.delete(key); // re-insert: the Map's order is least recently used first
    }
    this.#sources.set(key, source);
    source.failures = this.#trim(source.failures, now);
    source.failures.push(now);
    if (account) {
      for (const [a, at] of source.accounts) if (at <= now - this.#o.windowMs) source.accounts.delete(a);
      source.accounts.delete(account);
      source.accounts.set(account, now);
      if (source.accounts.size > this.#o.sprayAccounts) source.accounts.delete(source.accounts.keys().next().value!);
      let list = this.#accounts.get(account);
      if (!list) this.#makeRoom(this.#accounts);
      list = this.#trim(list ?? [], now);
      list.push(now);
      this.#accounts.set(account, list);
    }
    let banned: BanReason | undefined;
    if (source.bannedUntil <= now) {
      if (source.failures.length >= this.#o.ipFailures) banned = 'ip_failures';
      else if (source.accounts.size >= this.#o.sprayAccounts) banned = 'spray';
      if (banned) source.bannedUntil = now + this.#o.banMs;
    }
    return { delayMs: this.#delay(source.failures.length - this.#o.delayAfter), ...(banned ? { banned } : {}) };
  }

  /** A success clears the account's counter (the source's stays: one good account must not reset it). */
  success(ip: string, account: string | undefined): void {
    if (account && !this.#exempt(ip)) this.#accounts.delete(account);
  }

  /** Lifts a ban (admin action, tests). */
  unban(ip: string): void {
    this.#sources.delete(sourceKey(ip));
  }

  #delay(over: number): number {
    if (over <= 0) return 0;
    return Math.min(this.#o.maxDelayMs, BASE_DELAY_MS * 2 ** Math.min(over - 1, 20));
  }

  #recent(list: number[] | undefined, now: number): number {
    return list ? list.filter((t) => t > now - this.#o.windowMs).length : 0;
  }

  #trim(list: number[], now: number): number[] {
    const keep = list.filter((t) => t > now - this.#o.windowMs);
    // Only the count up to the ban threshold matters; cap memory per entry.
    return keep.length > this.#o.ipFailures * 2 ? keep.slice(-this.#o.ipFailures * 2) : keep;
  }

  #makeRoom(map: Map<string, unknown>): void {
    if (map.size < this.#max) return;
    const now = this.#now();
    for (const [k, v] of map) {
      if (map.size < this.#max * 0.9) break;
      const s = v as Source | number[];
      const last = Array.isArray(s) ? (s.at(-1) ?? 0) : Math.max(s.failures.at(-1) ?? 0, s.bannedUntil);
      if (last <= now - this.#o.windowMs || (!Array.isArray(s) && s.bannedUntil <= now)) map.delete(k);
    }
    while (map.size >= this.#max) map.delete(map.keys().next().value!);
  }
}
