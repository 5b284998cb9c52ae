import type { Account, FindAccount } from 'oidc-provider';
import type { Directory, DirectoryAccount } from '../directory/directory.ts';

/**
 * The OIDC view of a directory account: `sub` is the account's lower-case address (stable, and
 * what every Fingerpost service maps tokens by), plus `email` and `name` claims (OIDC Core §5.1).
 */
export function oidcAccount(account: DirectoryAccount): Account {
  return {
    accountId: account.address,
    async claims() {
      return {
        sub: account.address,
        email: account.address,
        email_verified: true,
        ...(account.displayName ? { name: account.displayName } : {}),
      };
    },
  };
}

/** oidc-provider's `findAccount`: enabled accounts only, so disabling one stops new tokens at once. */
export function findAccountIn(directory: Directory): FindAccount {
  return async (_ctx, sub) => {
    const account = await directory.findByAddress(sub);
    if (!account || account.disabled || account.address !== sub) return undefined;
    return oidcAccount(account);
  };
}
