import type { TestServer } from './server.ts';
import { runCli } from './server.ts';

/**
 * Issues an access token from the embedded provider of a running test server with
 * `fingerpost admin token issue` (the real CLI on the server's data directory). The public URL is
 * passed along so the token's `iss` matches the server's issuer (`PUBLIC_URL/oidc`).
 */
export async function issueToken(
  server: Pick<TestServer, 'dataDir' | 'config'>,
  user: string,
  options: { resource?: string | string[]; scope?: string; ttl?: string } = {},
): Promise<string> {
  const args = ['admin', 'token', 'issue', user, '--data', server.dataDir];
  for (const r of [options.resource ?? []].flat()) args.push('--resource', r);
  if (options.scope !== undefined) args.push('--scope', options.scope);
  if (options.ttl !== undefined) args.push('--ttl', options.ttl);
  const r = await runCli(args, {
    env: {
      FINGERPOST_HTTP_PUBLIC_URL: server.config.publicUrl,
      FINGERPOST_SERVER_HOSTNAME: server.config.server.hostname,
      FINGERPOST_STORE_URL: server.config.store.url,
      FINGERPOST_LOG_LEVEL: 'silent',
    },
  });
  if (r.code !== 0) throw new Error(`admin token issue failed (${r.code}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1]!;
}
