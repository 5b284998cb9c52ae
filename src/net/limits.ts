import { addressKey } from './cidr.ts';

/** Why a connection was refused: every slot is taken, or its address (IPv6: its /64) has its share. */
export type Refusal = 'total' | 'per_ip';

/** One open connection's place in the limits. */
export interface ConnectionSlot {
  /**
   * The connection signed in (on HTTPS: sent its first complete request). It leaves the pre-login
   * pool and can no longer be evicted to make room for a newcomer.
   */
  promote(): void;
  /** Frees the slot once the connection has closed. Calling it again does nothing. */
  release(): void;
}

export interface ConnectionLimits {
  /** Open connections across every listener sharing the limiter. */
  readonly total: number;
  /** Open connections per client key (`addressKey`: an IPv4 address or an IPv6 /64). */
  readonly perIp: number;
  /** Share of `total` that connections not signed in yet may hold (0 < share ≤ 1). */
  readonly preloginShare?: number;
}

interface Entry {
  readonly key: string;
  readonly evict: () => void;
  prelogin: boolean;
  released: boolean;
}

/**
 * Counts open connections in total, per client (IPv6 by /64) and before sign-in, shared by every
 * listener. Connections that have not signed in may hold only a share of the total; when that
 * share (or the total) is full, the oldest of them is evicted for a newcomer, so clients that
 * connect and never sign in can neither lock new clients out nor starve signed-in ones.
 */
export class ConnectionLimiter {
  #total: number;
  #perIp: number;
  #preloginMax: number;
  readonly #byKey = new Map<string, number>();
  /** Connections not signed in yet, oldest first (a Set keeps insertion order). */
  readonly #prelogin = new Set<Entry>();
  #open = 0;

  constructor(limits: ConnectionLimits) {
    this.#total = limits.total;
    this.#perIp = limits.perIp;
    this.#preloginMax = Math.max(1, Math.floor(limits.total * (limits.preloginShare ?? 1)));
  }

  /** New limits for the connections that come next (a configuration reload); open ones keep their slots. */
  configure(limits: ConnectionLimits): void {
    this.#total = limits.total;
    this.#perIp = limits.perIp;
    this.#preloginMax = Math.max(1, Math.floor(limits.total * (limits.preloginShare ?? 1)));
  }

  get open(): number {
    return this.#open;
  }

  /** Connections open and not signed in yet. */
  get prelogin(): number {
    return this.#prelogin.size;
  }

  /**
   * Takes a slot for a client at `ip`, or says which limit refuses it. `evict` is called if the
   * connection, still not signed in, later has to make room; it should close the connection.
   */
  acquire(ip: string, evict: () => void): ConnectionSlot | Refusal {
    const key = addressKey(ip);
    const n = this.#byKey.get(key) ?? 0;
    if (n >= this.#perIp) return 'per_ip';
    const full = this.#open >= this.#total;
    if (full || this.#prelogin.size >= this.#preloginMax) {
      // Only a connection that has not signed in gives way, and only the oldest of them.
      const oldest = this.#prelogin.values().next().value;
      if (!oldest) return 'total';
      this.#prelogin.delete(oldest);
      oldest.prelogin = false;
      oldest.evict();
    }
    const entry: Entry = { key, evict, prelogin: true, released: false };
    this.#byKey.set(key, n + 1);
    this.#open++;
    this.#prelogin.add(entry);
    return {
      promote: () => {
        if (entry.prelogin) {
          entry.prelogin = false;
          this.#prelogin.delete(entry);
        }
      },
      release: () => {
        if (entry.released) return;
        entry.released = true;
        this.#prelogin.delete(entry);
        const left = (this.#byKey.get(key) ?? 1) - 1;
        if (left <= 0) this.#byKey.delete(key);
        else this.#byKey.set(key, left);
        this.#open = Math.max(0, this.#open - 1);
      },
    };
  }
}
