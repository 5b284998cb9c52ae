/**
 * The closed set of error codes Fingerpost raises. A message never carries a secret, a token or a
 * password; structured context goes into `context` (docs/architecture.md).
 */
export type ErrorCode =
  | 'config_invalid'
  | 'data_dir_unwritable'
  | 'port_in_use'
  | 'not_found'
  | 'already_exists'
  | 'conflict'
  | 'invalid_argument'
  | 'unknown_domain'
  | 'store_failure'
  | 'tls_failure'
  | 'auth_failed'
  | 'limit_exceeded'
  /** The account's storage quota would be exceeded (RFC 9208 OVERQUOTA, RFC 9425 overQuota). */
  | 'over_quota'
  /** The account lacks a right on a shared object (RFC 4314 NOPERM, RFC 8620 forbidden). */
  | 'forbidden'
  | 'unavailable'
  | 'internal';

export class FingerpostError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  /** A one-line hint telling the operator what to do next. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { context?: Record<string, unknown>; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FingerpostError';
    this.code = code;
    this.context = Object.freeze({ ...(options.context ?? {}) });
    this.hint = options.hint;
  }
}

/** True when `err` is a FingerpostError with one of the given codes. */
export function isFingerpostError(err: unknown, ...codes: ErrorCode[]): err is FingerpostError {
  return err instanceof FingerpostError && (codes.length === 0 || codes.includes(err.code));
}
