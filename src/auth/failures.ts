import type { AuthFailure, AuthFailureCode } from './types.ts';

/** The texts clients see; none says which part of a credential was wrong (RFC 9051 §11.7). */
const PUBLIC: Record<AuthFailureCode, string> = {
  invalid_credentials: 'authentication failed',
  invalid_token: 'the access token is not valid here',
  insufficient_scope: 'the access token does not grant access to this service',
  authorization_failed: 'this account may not sign in here',
  policy: 'this way of signing in is not allowed here',
  rate_limited: 'too many failed attempts; try again later',
  temporary: 'authentication is temporarily unavailable; try again later',
};

/** Builds an `AuthFailure` with the standard public text unless one is given. */
export function authFailure(code: AuthFailureCode, extra: Partial<Omit<AuthFailure, 'ok' | 'code'>> = {}): AuthFailure {
  return { ok: false, code, publicReason: extra.publicReason ?? PUBLIC[code], ...stripUndefined(extra) };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
