import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for the sign-in and consent forms: an HMAC of the interaction id under a server
 * secret. The interaction id also travels in oidc-provider's signed, HttpOnly, SameSite cookie, so
 * a forged form from another site has neither the cookie nor a token it could compute.
 */
export class CsrfTokens {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(secret, 'base64url');
  }

  issue(interactionUid: string): string {
    return createHmac('sha256', this.#key).update(`csrf\0${interactionUid}`).digest('base64url');
  }

  /** Constant-time check of a submitted token (STANDARDS.md §9.8). */
  verify(interactionUid: string, submitted: unknown): boolean {
    if (typeof submitted !== 'string' || submitted.length > 100) return false;
    const expected = Buffer.from(this.issue(interactionUid));
    const given = Buffer.from(submitted);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
