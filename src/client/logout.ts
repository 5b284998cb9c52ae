import * as oidc from 'openid-client';
import { accountHttp } from './network.ts';
import { translateOAuthError } from './oauth/errors.ts';
import { clientConfiguration } from './oauth/issuer.ts';
import type { TokenStore } from './store/token-store.ts';

/**
 * `fingerpost logout EMAIL` (RFC 7009 §2.1): revokes the refresh token at
 * the issuer (which also ends the access tokens of the grant at most issuers), then deletes the
 * account file and any secret kept in the keyring. When the issuer cannot be reached the sign-in
 * stays, because RFC 7009 §2.2.1 says to assume the token is still valid; `force` removes it anyway.
 */
export async function logout(
  store: TokenStore,
  address: string,
  options: { force?: boolean; note: (line: string) => void },
): Promise<void> {
  await store.locked(address, async () => {
    const account = await store.load(address);
    let revoked = false;
    try {
      const secret = await store.openSecret(account);
      if (secret.refreshToken && account.metadata.revocation_endpoint) {
        const config = clientConfiguration(
          account.metadata,
          account.clientId,
          account.clientAuth,
          secret.clientSecret,
          accountHttp(account),
        );
        await oidc.tokenRevocation(config, secret.refreshToken, { token_type_hint: 'refresh_token' });
        revoked = true;
      } else if (!account.metadata.revocation_endpoint)
        options.note(`note: ${account.issuer} has no revocation endpoint; its grant stays until it expires`);
    } catch (err) {
      if (!options.force) throw translateOAuthError(err, address, 'revoking the refresh token');
      options.note(`note: could not revoke (${(err as Error).message}); removing the local sign-in anyway (--force)`);
    }
    await store.remove(account);
    options.note(
      `Signed out ${address}${revoked ? ': the refresh token is revoked at the issuer' : ''} and the stored tokens are deleted.`,
    );
  });
}
