import { servicesOf } from './store/account.ts';
import type { IssuedToken } from './tokens.ts';

/** Output formats of `fingerpost token --format`. */
export const TOKEN_FORMATS = ['token', 'oauthbearer', 'xoauth2', 'json'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];

/**
 * Renders an issued token for stdout: the bare token; the base64 SASL initial response for
 * OAUTHBEARER (RFC 7628 §3.1, with host and port of the service when one was named) or XOAUTH2;
 * or a JSON object for scripts. The SASL encoders load only for their formats.
 */
export async function formatToken(issued: IssuedToken, format: TokenFormat, service?: string): Promise<string> {
  const { account, token } = issued;
  switch (format) {
    case 'token':
      return token.token;
    case 'oauthbearer': {
      const [{ encodeBase64 }, { encodeOAuthBearer }] = await Promise.all([
        import('../auth/sasl/base64.ts'),
        import('../auth/sasl/oauthbearer.ts'),
      ]);
      const svc = service ? servicesOf(account, service === 'smtp' ? 'smtp' : (service as 'imap')).find((s) => 'host' in s) : undefined;
      const hostPort = svc && 'host' in svc ? { host: svc.host, port: svc.port } : {};
      return encodeBase64(encodeOAuthBearer({ authzid: account.address, ...hostPort, token: token.token }));
    }
    case 'xoauth2': {
      const [{ encodeBase64 }, { encodeXOAuth2 }] = await Promise.all([
        import('../auth/sasl/base64.ts'),
        import('../auth/sasl/xoauth2.ts'),
      ]);
      return encodeBase64(encodeXOAuth2({ user: account.address, token: token.token }));
    }
    case 'json':
      return JSON.stringify({
        access_token: token.token,
        token_type: 'Bearer',
        expires_at: new Date(token.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        expires_in: Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000)),
        address: account.address,
        issuer: account.issuer,
        ...(issued.resource ? { resource: issued.resource } : {}),
        ...(token.scope ? { scope: token.scope } : {}),
      });
  }
}
