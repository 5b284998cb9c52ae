import type { DirectoryAccount } from '../directory/directory.ts';
import type { SessionRegistry } from './sessions.ts';

/**
 * Asks the directory again about the account of every live session and ends the sessions of
 * accounts that are gone or disabled: how a change made in an outside directory (an LDAP entry
 * removed or disabled) reaches connections that are already open, within the directory's cache
 * time. A directory that cannot answer leaves the sessions alone. Returns how many ended.
 */
export async function recheckAccounts(
  sessions: SessionRegistry,
  directory: { getAccount(id: number): Promise<DirectoryAccount | undefined> },
): Promise<number> {
  let ended = 0;
  for (const accountId of new Set(sessions.list().map((s) => s.accountId))) {
    const account = await directory.getAccount(accountId).catch(() => null);
    if (account === null) continue;
    if (!account || account.disabled) ended += sessions.end({ accountId }, 'account_disabled');
  }
  return ended;
}
