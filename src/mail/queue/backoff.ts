/**
 * When to try again after `attempts` failed tries: exponential from `initialMs`, capped at `maxMs`,
 * with ±10 % jitter so a queue full of mail for one host does not retry in lockstep. RFC 5321
 * §4.5.4.1 asks for at least 30 minutes between retries to one destination once a queue builds;
 * the defaults (1 min doubling to 1 h) reach that after the first few tries.
 */
export function retryDelay(attempts: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  const jitter = 1 + (random() * 2 - 1) * 0.1;
  return Math.max(1000, Math.round(base * jitter));
}
