import type { AppPasswordStore, Directory } from '../../directory/directory.ts';
import { authFailure } from '../failures.ts';
import type { AuthContext, AuthOutcome, AuthProtocol } from '../types.ts';
import type { VerifiedPasswordCache } from './password.ts';

/** What password verification needs: the directory's read side and the app passwords of our store. */
export type PasswordDirectory = Pick<Directory, 'findByAddress' | 'getAccount' | 'verifyPassword'> &
  Pick<AppPasswordStore, 'findAppPasswordBySecret' | 'touchAppPassword'>;

/**
 * The app-password protocol that covers a connection: `smtp` also covers submission, and `imap`
 * covers ManageSieve (RFC 5804), the mail client's filter editor.
 */
export function appPasswordProtocol(protocol: AuthProtocol): string {
  return protocol === 'submission' ? 'smtp' : protocol === 'managesieve' ? 'imap' : protocol;
}

export interface PasswordLoginDeps {
  readonly directory: PasswordDirectory;
  readonly cache: VerifiedPasswordCache;
  readonly now: () => number;
  /** Records app-password use (throttled by the caller's policy). */
  readonly touch: (id: number, use: { remote: string; protocol: string }) => void;
}

/**
 * Verifies a user name and password, or an app password given as the password.
 * An unknown user costs one argon2 verification like a wrong password and gets the same answer
 * (RFC 9051 §11.7); disabled accounts and app passwords used on another protocol are only
 * reported once the secret was proven. An `authzid` other than the user itself is refused.
 * With `appPasswords: false` (the provider's sign-in page) only the account password counts.
 */
export async function verifyPasswordLogin(
  deps: PasswordLoginDeps,
  input: { username: string; password: string; authzid?: string },
  context: AuthContext,
  options: { appPasswords?: boolean } = {},
): Promise<AuthOutcome> {
  const account = input.username.includes('@') ? await deps.directory.findByAddress(input.username) : undefined;
  const now = deps.now();

  const authorize = (method: 'password' | 'app_password', extra: { credentialId?: string; expiresAt?: number } = {}): AuthOutcome => {
    const acct = account!;
    if (acct.disabled) return authFailure('authorization_failed', { publicReason: 'the account is disabled' });
    if (input.authzid && input.authzid.toLowerCase() !== acct.address && input.authzid.toLowerCase() !== input.username.toLowerCase())
      return authFailure('authorization_failed', { publicReason: 'acting as another user is not allowed' });
    return { ok: true, account: acct, method, scopes: [], ...extra };
  };

  if (account && deps.cache.hit(account.id, input.password, account.credentialsChangedAt, now)) return authorize('password');

  const app = options.appPasswords === false ? undefined : await deps.directory.findAppPasswordBySecret(input.password);
  if (account && app && app.accountId === account.id) {
    if (app.revokedAt !== null || (app.expiresAt !== null && app.expiresAt <= now)) return authFailure('invalid_credentials');
    // `caldav` / `carddav` app passwords cover only the HTTP requests that need that access.
    const narrow =
      context.protocol === 'http'
        ? context.scope === 'calendars'
          ? 'caldav'
          : context.scope === 'contacts'
            ? 'carddav'
            : undefined
        : undefined;
    if (!app.protocols.includes(appPasswordProtocol(context.protocol)) && !(narrow && app.protocols.includes(narrow)))
      return authFailure('authorization_failed', { publicReason: `this app password is not valid for ${context.protocol}` });
    const outcome = authorize('app_password', {
      credentialId: String(app.id),
      ...(app.expiresAt !== null ? { expiresAt: app.expiresAt } : {}),
    });
    if (outcome.ok) deps.touch(app.id, { remote: context.remote, protocol: context.protocol });
    return outcome;
  }

  if (!(await deps.directory.verifyPassword(account, input.password)) || !account) return authFailure('invalid_credentials');
  deps.cache.remember(account.id, input.password, account.credentialsChangedAt, now);
  return authorize('password');
}
