import type { Config } from '../../../config/config.ts';
import type { ShareAccount } from '../../../mail/sharing/grants.ts';
import type { JsonObject } from '../args.ts';
import { accountCapabilities, CAPABILITIES } from '../capabilities.ts';
import type { JmapServices } from '../context.ts';
import { toId } from '../ids.ts';

/** Another account that shared mailboxes with the caller, and the caller's rights there (one string per mailbox). */
export interface SharedAccount {
  readonly owner: ShareAccount;
  readonly rights: readonly string[];
}

/** The accounts that shared at least one mailbox with `accountId` (RFC 9670 §1.4). */
export function sharedAccounts(services: JmapServices, accountId: number): Promise<SharedAccount[]> {
  return services.mail.sharing.ownersSharingWith(accountId);
}

/**
 * The `urn:ietf:params:jmap:principals` and `…:principals:owner` account capabilities (RFC 9670
 * §2): every account here belongs to the principal of the same number; the caller's own account
 * also names the caller's principal.
 */
export function principalCapabilities(accountId: number, own: boolean): Record<string, JsonObject> {
  return {
    ...(own ? { [CAPABILITIES.principals]: { currentUserPrincipalId: toId('principal', accountId) } } : {}),
    [CAPABILITIES.principalsOwner]: { accountIdForPrincipal: toId('account', accountId), principalId: toId('principal', accountId) },
  };
}

/**
 * A shared account as the Session lists it (RFC 8620 §2, RFC 9670 §1.4): not personal, only the
 * mail capability (no creating top-level mailboxes), blobs and the owner's principal; read-only when
 * no mailbox grants a right that changes anything.
 */
export function sharedAccountEntry(config: Config, shared: SharedAccount): JsonObject {
  const mail = { ...(accountCapabilities(config)[CAPABILITIES.mail] as JsonObject), mayCreateTopLevelMailbox: false };
  return {
    name: shared.owner.address,
    isPersonal: false,
    isReadOnly: !shared.rights.some((r) => /[switekx]/.test(r)),
    accountCapabilities: {
      [CAPABILITIES.mail]: mail,
      [CAPABILITIES.blob]: accountCapabilities(config)[CAPABILITIES.blob] as JsonObject,
      ...principalCapabilities(shared.owner.id, false),
    },
  };
}
