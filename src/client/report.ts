import { FingerpostError } from '../core/errors.ts';
import { clientExitCode } from './errors.ts';

/** Where diagnostics go: always stderr, so stdout carries only what a mail client reads. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Runs a client command body: an error becomes one clear line on stderr (plus what to do) and the
 * exit code scripts act on (0 ok, 1 local problem, 2 sign-in needed, 3 temporary failure).
 */
export function clientAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof FingerpostError) {
        note(`fingerpost: ${err.message}`);
        if (err.hint) note(`  fix: ${err.hint}`);
      } else {
        note(`fingerpost: ${(err as Error)?.message ?? String(err)}`);
        if (process.env.FINGERPOST_DEBUG) note((err as Error)?.stack ?? '');
      }
      process.exitCode = clientExitCode(err);
    }
  };
}
