import { FingerpostError } from '../core/errors.ts';

/**
 * How the client helper fails, and the exit code each failure maps to (issue 9: 0 ok, 2 sign-in
 * needed, 3 temporary failure; 1 for a local problem such as an unreadable token file).
 */

/** The grant is gone or unusable (RFC 6749 §5.2 `invalid_grant`, no account): exit code 2. */
export function signInNeeded(address: string, why: string): FingerpostError {
  return new FingerpostError('auth_failed', `${address}: ${why}`, {
    hint: `sign in again: fingerpost login ${address}`,
    context: { exit: 2 },
  });
}

/** The issuer or the network failed in a way worth retrying later: exit code 3. */
export function temporaryFailure(message: string, cause?: unknown): FingerpostError {
  return new FingerpostError('unavailable', message, { hint: 'try again later', cause, context: { exit: 3 } });
}

/** A local problem the user must fix (bad file, wrong passphrase, bad option): exit code 1. */
export function localProblem(message: string, hint?: string, cause?: unknown): FingerpostError {
  return new FingerpostError('invalid_argument', message, { ...(hint ? { hint } : {}), cause, context: { exit: 1 } });
}

/** The exit code for an error raised by the client helper (1 for anything unexpected). */
export function clientExitCode(err: unknown): number {
  if (err instanceof FingerpostError) {
    const exit = err.context.exit;
    if (typeof exit === 'number') return exit;
    if (err.code === 'auth_failed') return 2;
    if (err.code === 'unavailable') return 3;
  }
  return 1;
}
