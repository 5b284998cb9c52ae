import type { Command } from 'commander';
import { parseDuration } from '../config/duration.ts';
import { resourceIds, SCOPES } from '../config/resources.ts';
import { FingerpostError } from '../core/errors.ts';
import { MAX_ADMIN_TOKEN_TTL_MS } from '../idp/admin-token.ts';
import { knownResources } from '../idp/resources.ts';
import type { Services } from '../main.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const collect = (value: string, previous: string[] = []) => [...previous, value];

async function withServices(opts: StoreOptions, fn: (s: Services) => Promise<void>): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    await fn(services);
  } finally {
    services.idp.close();
    await services.close();
  }
}

function ttlFrom(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000 || ms > MAX_ADMIN_TOKEN_TTL_MS)
    throw new FingerpostError('invalid_argument', `--ttl ${text} is not a lifetime between 1s and 30d`, {
      hint: 'use seconds (600) or a unit (10m, 2h)',
    });
  return ms;
}

/**
 * `fingerpost admin token|keys|client …`: the embedded OpenID provider's tokens, signing keys and
 * clients, straight on the data directory (also while the server runs).
 */
export function registerAdminIdp(admin: Command): void {
  const token = admin.command('token').description('access tokens of the embedded OpenID provider');
  withStoreOptions(token.command('issue'))
    .description('print a signed access token (RFC 9068 JWT) for an account as the last line of stdout')
    .argument('<user>', 'account address')
    .option('--resource <uri>', 'audience (RFC 8707), repeatable; default: every service of this server', collect)
    .option('--scope <scopes>', 'space-separated scopes', `${SCOPES.mail} ${SCOPES.calendars}`)
    .option('--ttl <duration>', 'lifetime: seconds or with a unit (600, 10m)', '1h')
    .action(
      action(async (user: string, opts: StoreOptions & { resource?: string[]; scope: string; ttl: string }) => {
        const ttlMs = ttlFrom(opts.ttl);
        await withServices(opts, async (s) => {
          const ours = knownResources(resourceIds(s.config));
          const resources = opts.resource?.length ? opts.resource : ours;
          for (const r of resources)
            if (!ours.includes(r))
              process.stderr.write(`fingerpost: note: ${r} is not a resource of this server (ours: ${ours.join(', ')})\n`);
          const t = await s.idp.issueAdminToken({
            address: user,
            resources,
            scopes: opts.scope.split(/\s+/).filter(Boolean),
            ttlMs,
          });
          process.stderr.write(
            `token for ${t.subject}, audience ${[t.audience].flat().join(' ')}, expires ${iso(t.expiresAt)}, jti ${t.jti}\n`,
          );
          process.stdout.write(`${t.token}\n`);
        });
      }),
    );
  withStoreOptions(token.command('revoke'))
    .description('revoke a token by its jti; sessions using it end')
    // A jti is base64url and may start with "-": it then goes after "--" (revoke -- -H8vv…).
    .argument('<jti>', 'the token\'s jti claim (one starting with "-" goes after --)')
    .action(
      action(async (jti: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const set = await s.idp.revokeToken(jti);
          if (!set.jtis.length) throw new FingerpostError('not_found', `no unexpired token ${jti} issued here`);
          process.stdout.write(`revoked ${jti}\n`);
        }),
      ),
    );

  const keys = admin.command('keys').description('signing keys of the embedded OpenID provider');
  withStoreOptions(keys.command('rotate'))
    .description('make a new signing key; the previous one stays published until its tokens expire')
    .action(
      action(async (opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const { kid, retired } = await s.idp.keys.rotate();
          const pruned = await s.idp.keys.prune();
          process.stdout.write(`new signing key ${kid}${retired.length ? `; retired ${retired.join(', ')}` : ''}\n`);
          if (pruned.length) process.stdout.write(`removed expired keys ${pruned.join(', ')}\n`);
        }),
      ),
    );
  withStoreOptions(keys.command('list'))
    .description('list published signing keys')
    .action(
      action(async (opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const set = await s.idp.keys.load();
          printTable(
            ['KID', 'ALG', 'CREATED', 'STATE'],
            set.published.map((k) => [k.kid, k.alg, iso(k.createdAt), k === set.current ? 'signing' : `retired ${iso(k.retiredAt)}`]),
          );
        }),
      ),
    );

  const client = admin.command('client').description('OAuth clients of the embedded OpenID provider');
  withStoreOptions(client.command('add'))
    .description('register a client (confidential unless --public); a secret is printed once')
    .argument('<name>', 'display name shown on the consent page')
    .requiredOption('--redirect-uri <uri>', 'redirect URI, repeatable', collect)
    .option('--client-id <id>', 'client id (default: generated)')
    .option('--public', 'a public client (native app): no secret, PKCE required')
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return, repeatable', collect)
    .option('--backchannel-logout-uri <uri>', 'receives OIDC back-channel logout tokens')
    .option('--grant-types <list>', 'comma-separated grant types', 'authorization_code,refresh_token')
    .action(
      action(
        async (
          name: string,
          opts: StoreOptions & {
            redirectUri: string[];
            clientId?: string;
            public?: boolean;
            postLogoutRedirectUri?: string[];
            backchannelLogoutUri?: string;
            grantTypes: string;
          },
        ) =>
          withServices(opts, async (s) => {
            const { info, secret } = await s.idp.clients.add({
              name,
              redirectUris: opts.redirectUri,
              ...(opts.clientId ? { clientId: opts.clientId } : {}),
              public: !!opts.public,
              ...(opts.postLogoutRedirectUri ? { postLogoutRedirectUris: opts.postLogoutRedirectUri } : {}),
              ...(opts.backchannelLogoutUri ? { backchannelLogoutUri: opts.backchannelLogoutUri } : {}),
              grantTypes: opts.grantTypes
                .split(',')
                .map((g) => g.trim())
                .filter(Boolean),
            });
            process.stdout.write(`added client ${info.clientId} "${info.name}" (${info.public ? 'public' : 'confidential'})\n`);
            process.stdout.write(`issuer: ${s.idp.issuer}\n`);
            if (secret) process.stdout.write(`client secret: ${secret}\n(shown once)\n`);
          }),
      ),
    );
  withStoreOptions(client.command('list'))
    .description('list clients (admin-added and self-registered)')
    .action(
      action(async (opts: StoreOptions) =>
        withServices(opts, async (s) => {
          printTable(
            ['CLIENT ID', 'NAME', 'TYPE', 'ADDED BY', 'REDIRECT URIS'],
            (await s.idp.clients.list()).map((c) => [
              c.clientId,
              c.name,
              c.public ? 'public' : 'confidential',
              c.verified ? 'admin' : 'self',
              c.redirectUris.join(' '),
            ]),
          );
        }),
      ),
    );
  withStoreOptions(client.command('remove'))
    .description('remove a client; sessions using its tokens end')
    .argument('<client-id>', 'a registered client\'s id (one starting with "-" goes after --)')
    .action(
      action(async (clientId: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const set = await s.idp.removeClient(clientId);
          process.stdout.write(`removed client ${clientId}${set.jtis.length ? ` (revoked ${set.jtis.length} tokens)` : ''}\n`);
        }),
      ),
    );
}
