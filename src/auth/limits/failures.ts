import { isIP } from 'node:net';
import { ipMatcher, normalizeIp } from '../../net/cidr.ts';
import { BoundedLru } from './bounded-lru.ts';

export interface FailureLimitsOptions {
  /** Failures from one source within `windowMs` before it is banned. */
  readonly ipFailures: number;
  /** Distinct accounts failing from one source within `windowMs` before it is banned (spraying). */
  readonly sprayAccounts: number;
  /** Failures on one account from one source within `windowMs` before that source may not try that account. */
  readonly accountFailures: number;
  /**
   * Failures on one account from all sources within `windowMs` from which the account is under
   * attack: a source that already failed on it may not try it again. Default: 2 × `accountFailures`.
   */
  readonly accountAttack?: number;
  /** Failures from one source before its failures are answered late. */
  readonly delayAfter: number;
  readonly maxDelayMs: number;
  readonly windowMs: number;
  readonly banMs: number;
  /** How long a source or device that signed in to an account stays known for it. Default: 30 days. */
  readonly knownForMs?: number;
  /** Sources never delayed or banned (CIDR or exact). */
  readonly exempt: readonly string[];
  readonly now?: () => number;
  /** Most sources, accounts, pairs and devices remembered each; the least recently used go first. */
  readonly maxEntries?: number;
}

/** Who is trying: the client address, the claimed account (lower-cased), and a device the caller verified. */
export interface Attempt {
  readonly ip: string;
  readonly account?: string | undefined;
  /**
   * A device id the caller has verified as having signed in to `account` before (the sign-in
   * page's signed device cookie). Never a value the client merely claims.
   */
  readonly device?: string | undefined;
}

export type BanReason = 'ip_failures' | 'spray';

/**
 * Which limit refused an attempt: the source is banned (`source_ban`), this source failed too
 * often on this account (`account_source`), or the account is under attack and this source
 * already failed on it (`account_attack`).
 */
export type RefusalLimit = 'source_ban' | 'account_source' | 'account_attack';

/** Why an attempt passed without question: nothing against it, or it comes from a known device or source. */
export type PassReason = 'clean' | 'known_device' | 'known_source';

/**
 * What to do before verifying: go ahead, or refuse without checking the secret. `delayMs` is
 * always 0 (a correct secret is never slowed down; failures are answered late instead) and stays
 * for callers written against the earlier contract.
 */
export type Gate =
  | { readonly allowed: true; readonly delayMs: 0; readonly pass: PassReason }
  | { readonly allowed: false; readonly retryAfterMs: number; readonly limit: RefusalLimit };

/** What recording a failure started: how long to wait before answering, a ban, an account newly under attack. */
export interface FailureEffect {
  readonly delayMs: number;
  readonly banned?: BanReason;
  readonly accountUnderAttack?: true;
}

interface Source {
  failures: number[];
  accounts: Map<string, number>;
  bannedUntil: number;
}

const BASE_DELAY_MS = 250;
const DAY_MS = 86_400_000;

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
 * The failure limits every protocol shares (docs/authentication.md "Abuse protection"), one rule
 * for IMAP, POP3, SMTP, HTTP and the sign-in page. Failures are counted per source, per (source,
 * account) pair, per account and per known device in a sliding window:
 * - a source with `ipFailures` failures, or failures on `sprayAccounts` accounts, is banned;
 * - a source with `accountFailures` failures on one account may not try that account again;
 * - an account with `accountAttack` failures is under attack: a source that failed on it may not
 *   try it again;
 * - a source that never failed on an account, a source that signed in to it before, and a device
 *   verified by the caller are never refused for it (a device even from a banned source), so a
 *   password spray or a distributed guess cannot lock the owner out.
 * Failures from a source are answered with doubling delays after `delayAfter`. In memory, per node.
 */
export class FailureLimits {
  readonly #o: FailureLimitsOptions;
  readonly #now: () => number;
  readonly #exempt: (ip: string) => boolean;
  readonly #attack: number;
  readonly #knownFor: number;
  readonly #keep: number;
  readonly #sources: BoundedLru<Source>;
  readonly #accounts: BoundedLru<number[]>;
  readonly #pairs: BoundedLru<number[]>;
  readonly #devices: BoundedLru<number[]>;
  /** Last sign-in per (source, account). */
  readonly #known: BoundedLru<number>;

  constructor(options: FailureLimitsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#exempt = ipMatcher(options.exempt);
    this.#attack = options.accountAttack ?? options.accountFailures * 2;
    this.#knownFor = options.knownForMs ?? 30 * DAY_MS;
    // Only counts up to the largest threshold matter: cap the memory of each list.
    this.#keep = 2 * Math.max(options.ipFailures, options.accountFailures, this.#attack);
    const max = options.maxEntries ?? 100_000;
    const w = options.windowMs;
    this.#sources = new BoundedLru(max, (s, now) => Math.max(s.failures.at(-1) ?? 0, s.bannedUntil - w) <= now - w);
    this.#accounts = new BoundedLru(max, (list, now) => (list.at(-1) ?? 0) <= now - w);
    this.#pairs = new BoundedLru(max, (list, now) => (list.at(-1) ?? 0) <= now - w);
    this.#devices = new BoundedLru(max, (list, now) => (list.at(-1) ?? 0) <= now - w);
    this.#known = new BoundedLru(max, (at, now) => at <= now - this.#knownFor);
  }

  /** Sources banned right now. */
  bannedCount(): number {
    const now = this.#now();
    let n = 0;
    for (const s of this.#sources.values()) if (s.bannedUntil > now) n++;
    return n;
  }

  /** Accounts under attack right now (`accountAttack` failures within the window). */
  accountsUnderAttack(): number {
    const now = this.#now();
    let n = 0;
    for (const list of this.#accounts.values()) if (this.#recent(list, now).length >= this.#attack) n++;
    return n;
  }

  /**
   * Before verifying a credential. `check(ip, account)` is the short form of `check({ ip, account })`;
   * `account` is the claimed name, lower-cased (it may not exist).
   */
  check(attempt: Attempt | string, account?: string): Gate {
    const a = attemptOf(attempt, account);
    if (this.#exempt(a.ip)) return pass('clean');
    const now = this.#now();
    const source = sourceKey(a.ip);
    if (a.account && a.device && this.#recent(this.#devices.peek(deviceKey(a.device, a.account)), now).length < this.#o.accountFailures)
      return pass('known_device');
    const s = this.#sources.peek(source);
    if (s && s.bannedUntil > now) return { allowed: false, retryAfterMs: s.bannedUntil - now, limit: 'source_ban' };
    if (!a.account) return pass('clean');
    const pair = pairKey(source, a.account);
    if (this.#isKnown(pair, now)) return pass('known_source');
    const failed = this.#recent(this.#pairs.peek(pair), now);
    if (failed.length >= this.#o.accountFailures) {
      // Until enough of this pair's failures have left the window.
      const releasing = failed[failed.length - this.#o.accountFailures]!;
      return { allowed: false, retryAfterMs: releasing + this.#o.windowMs - now, limit: 'account_source' };
    }
    if (failed.length && this.#recent(this.#accounts.peek(a.account), now).length >= this.#attack)
      return { allowed: false, retryAfterMs: failed.at(-1)! + this.#o.windowMs - now, limit: 'account_attack' };
    return pass('clean');
  }

  /** Records a failure (short form `failure(ip, account)`); returns the delay before answering and what it started. */
  failure(attempt: Attempt | string, account?: string): FailureEffect {
    const a = attemptOf(attempt, account);
    if (this.#exempt(a.ip)) return { delayMs: 0 };
    const now = this.#now();
    const key = sourceKey(a.ip);
    const source = this.#sources.touch(key, () => ({ failures: [], accounts: new Map(), bannedUntil: 0 }), now);
    source.failures = this.#append(source.failures, now);
    let accountUnderAttack = false;
    if (a.account) {
      for (const [name, at] of source.accounts) if (at <= now - this.#o.windowMs) source.accounts.delete(name);
      source.accounts.delete(a.account);
      source.accounts.set(a.account, now);
      if (source.accounts.size > this.#o.sprayAccounts) source.accounts.delete(source.accounts.keys().next().value!);
      const before = this.#recent(this.#accounts.peek(a.account), now).length;
      this.#record(this.#accounts, a.account, now);
      accountUnderAttack = before < this.#attack && before + 1 >= this.#attack;
      this.#record(this.#pairs, pairKey(key, a.account), now);
      if (a.device) this.#record(this.#devices, deviceKey(a.device, a.account), now);
    }
    let banned: BanReason | undefined;
    if (source.bannedUntil <= now) {
      if (source.failures.length >= this.#o.ipFailures) banned = 'ip_failures';
      else if (source.accounts.size >= this.#o.sprayAccounts) banned = 'spray';
      if (banned) source.bannedUntil = now + this.#o.banMs;
    }
    return {
      delayMs: this.#delay(source.failures.length - this.#o.delayAfter),
      ...(banned ? { banned } : {}),
      ...(accountUnderAttack ? { accountUnderAttack: true as const } : {}),
    };
  }

  /**
   * A ban another node decided (its failure counts are its own; the ban is shared through the
   * events table, src/auth/session-sync.ts): this node refuses the source until `until` too.
   * Exempt sources stay exempt; a later ban end is kept.
   */
  applyBan(ip: string, until: number): void {
    if (this.#exempt(ip)) return;
    const now = this.#now();
    if (until <= now) return;
    const source = this.#sources.touch(sourceKey(ip), () => ({ failures: [], accounts: new Map(), bannedUntil: 0 }), now);
    source.bannedUntil = Math.max(source.bannedUntil, until);
  }

  /**
   * A success (short form `success(ip, account)`): the source becomes known for the account and
   * its failures on it are forgotten, as are the device's. The source's own counters and the
   * account's stay: one good sign-in must neither lift a ban nor end an attack on the account.
   */
  success(attempt: Attempt | string, account?: string): void {
    const a = attemptOf(attempt, account);
    if (!a.account || this.#exempt(a.ip)) return;
    const now = this.#now();
    const pair = pairKey(sourceKey(a.ip), a.account);
    this.#pairs.delete(pair);
    this.#known.set(pair, now, now);
    if (a.device) this.#devices.delete(deviceKey(a.device, a.account));
  }

  /** Lifts a ban (admin action, tests). */
  unban(ip: string): void {
    this.#sources.delete(sourceKey(ip));
  }

  #isKnown(pair: string, now: number): boolean {
    const at = this.#known.peek(pair);
    return at !== undefined && at > now - this.#knownFor;
  }

  #record(map: BoundedLru<number[]>, key: string, now: number): void {
    map.set(key, this.#append(map.peek(key) ?? [], now), now);
  }

  #append(list: number[], now: number): number[] {
    const keep = this.#recent(list, now);
    keep.push(now);
    return keep.length > this.#keep ? keep.slice(-this.#keep) : keep;
  }

  #delay(over: number): number {
    if (over <= 0) return 0;
    return Math.min(this.#o.maxDelayMs, BASE_DELAY_MS * 2 ** Math.min(over - 1, 20));
  }

  #recent(list: readonly number[] | undefined, now: number): number[] {
    return list ? list.filter((t) => t > now - this.#o.windowMs) : [];
  }
}

function pass(reason: PassReason): Gate {
  return { allowed: true, delayMs: 0, pass: reason };
}

function attemptOf(attempt: Attempt | string, account: string | undefined): Attempt {
  return typeof attempt === 'string' ? { ip: attempt, account } : attempt;
}

function pairKey(source: string, account: string): string {
  return `${source}\n${account}`;
}

function deviceKey(device: string, account: string): string {
  return `${device}\n${account}`;
}
