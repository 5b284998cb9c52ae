import { normalizeIp } from './cidr.ts';

/** Counts open connections in total and per client IP, shared by every listener. */
export class ConnectionLimiter {
  readonly #total: number;
  readonly #perIp: number;
  readonly #byIp = new Map<string, number>();
  #open = 0;

  constructor(limits: { total: number; perIp: number }) {
    this.#total = limits.total;
    this.#perIp = limits.perIp;
  }

  get open(): number {
    return this.#open;
  }

  /** Takes a slot for `ip`, or says which limit is reached. */
  acquire(ip: string): 'ok' | 'total' | 'per_ip' {
    const key = normalizeIp(ip);
    if (this.#open >= this.#total) return 'total';
    const n = this.#byIp.get(key) ?? 0;
    if (n >= this.#perIp) return 'per_ip';
    this.#byIp.set(key, n + 1);
    this.#open++;
    return 'ok';
  }

  release(ip: string): void {
    const key = normalizeIp(ip);
    const n = this.#byIp.get(key) ?? 0;
    if (n <= 1) this.#byIp.delete(key);
    else this.#byIp.set(key, n - 1);
    this.#open = Math.max(0, this.#open - 1);
  }
}
