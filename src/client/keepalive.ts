import { clientExitCode } from './errors.ts';
import { note } from './report.ts';
import type { ServiceName } from './store/account.ts';
import type { TokenStore } from './store/token-store.ts';
import { accessToken } from './tokens.ts';
import { FingerpostError } from '../core/errors.ts';

const DAY = 86_400_000;

/**
 * `fingerpost token --keepalive` (for cron): refreshes every given account so that refresh tokens
 * with an idle lifetime never lapse, prints nothing when all is well, and warns on stderr (cron
 * mails it) when a sign-in fails or its refresh token expires within `warnDays`. Returns the
 * worst exit code (2 before 3 before 1).
 */
export async function keepalive(
  store: TokenStore,
  addresses: readonly string[],
  options: { warnDays: number; service?: ServiceName; now?: () => number },
): Promise<number> {
  const now = options.now ?? Date.now;
  const codes: number[] = [];
  for (const address of addresses) {
    try {
      const issued = await accessToken({ address, service: options.service, force: true }, { store });
      if (issued.refreshExpiresAt !== undefined && issued.refreshExpiresAt - now() < options.warnDays * DAY) {
        const days = Math.max(0, Math.floor((issued.refreshExpiresAt - now()) / DAY));
        note(
          `fingerpost: ${address}: the sign-in expires on ${new Date(issued.refreshExpiresAt).toISOString().slice(0, 10)} (in ${days} days); sign in again before then: fingerpost login ${address}`,
        );
      }
      codes.push(0);
    } catch (err) {
      note(`fingerpost: ${address}: ${err instanceof FingerpostError ? err.message : (err as Error).message}`);
      if (err instanceof FingerpostError && err.hint) note(`  fix: ${err.hint}`);
      codes.push(clientExitCode(err));
    }
  }
  for (const c of [2, 3, 1]) if (codes.includes(c)) return c;
  return 0;
}
