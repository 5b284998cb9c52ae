import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from '../core/constant-time.ts';

/** The browser session of the account page: who signed in, when, and until when. */
export interface WebSession {
  readonly accountId: number;
  readonly address: string;
  /** A random id: the CSRF tokens of this session are bound to it. */
  readonly sid: string;
  readonly issuer: string;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** The cookie of the session: `__Host-` so it is Secure, host-only and on `/` (RFC 6265bis §4.1.3.2). */
export const SESSION_COOKIE = '__Host-fp_account';
/** The cookie carrying state, nonce and PKCE verifier between sign-in and callback. */
export const LOGIN_COOKIE = '__Host-fp_account_login';

const MAX_COOKIE = 2048;

/**
 * Signed, stateless cookies (HMAC-SHA256 under a secret every node shares) and CSRF tokens bound
 * to the session id. The cookie is HttpOnly, Secure and SameSite=Strict; a form from another site
 * has neither the cookie nor a token it could compute.
 */
export class WebSessions {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(secret: string, options: { ttlMs: number; now?: () => number }) {
    this.#key = Buffer.from(secret, 'base64url');
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** A new session for an account; returns the cookie value and the session. */
  issue(account: { id: number; address: string }, issuer: string): { value: string; session: WebSession } {
    const now = this.#now();
    const session: WebSession = {
      accountId: account.id,
      address: account.address,
      sid: randomBytes(16).toString('base64url'),
      issuer,
      issuedAt: now,
      expiresAt: now + this.#ttlMs,
    };
    return { value: this.seal(session), session };
  }

  /** The session in a Cookie header, when it is ours, intact and not expired. */
  read(cookieHeader: string | undefined): WebSession | undefined {
    const s = this.open<WebSession>(readCookie(cookieHeader, SESSION_COOKIE));
    if (!s || typeof s.accountId !== 'number' || typeof s.address !== 'string' || typeof s.sid !== 'string') return undefined;
    return s.expiresAt > this.#now() ? s : undefined;
  }

  /** Seconds the cookie of a session should live. */
  maxAge(session: WebSession): number {
    return Math.max(0, Math.floor((session.expiresAt - this.#now()) / 1000));
  }

  /** A value signed under the key: `base64url(JSON).mac`. */
  seal(value: object): string {
    const body = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${body}.${this.#mac(`cookie\0${body}`)}`;
  }

  /** The value of `seal`, when the MAC matches (constant-time). */
  open<T>(sealed: string | undefined): T | undefined {
    if (!sealed || sealed.length > MAX_COOKIE) return undefined;
    const dot = sealed.indexOf('.');
    if (dot <= 0) return undefined;
    const body = sealed.slice(0, dot);
    if (!sameSecret(sealed.slice(dot + 1), this.#mac(`cookie\0${body}`))) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as T) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The CSRF token of a session (an HMAC of its id). */
  csrf(session: WebSession): string {
    return this.#mac(`csrf\0${session.sid}`);
  }

  /** Constant-time check of a submitted CSRF token. */
  checkCsrf(session: WebSession, submitted: unknown): boolean {
    return typeof submitted === 'string' && submitted.length <= 100 && sameSecret(submitted, this.csrf(session));
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64url');
  }
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value: HttpOnly, Secure, on `/`, with the given SameSite and lifetime (0: delete). */
export function setCookie(name: string, value: string, maxAgeSec: number, sameSite: 'Strict' | 'Lax'): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; Secure; SameSite=${sameSite}`;
}
