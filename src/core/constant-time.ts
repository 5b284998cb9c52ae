import { timingSafeEqual } from 'node:crypto';

/**
 * Whether two secrets (an OAuth `state` or `nonce`, a CSRF token, a verification code) are the
 * same, in time that does not depend on where they differ; only a difference in length shows.
 */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
