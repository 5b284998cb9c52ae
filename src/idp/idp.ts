import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpsApp } from './http-app.ts';
import type { JSONWebKeySet } from 'jose';
import type Provider from 'oidc-provider';
import { Counter, type Registry } from 'prom-client';
import type { IssuerRegistry } from '../auth/issuers/registry.ts';
import type { AuthCore } from '../auth/types.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/log.ts';
import type { Directory } from '../directory/directory.ts';
import type { Db } from '../store/db.ts';
import { SqlAdapter } from './adapter.ts';
import { registerBackchannelLogout } from './backchannel-receiver.ts';
import { type AdminToken, type AdminTokenRequest, issueAdminToken } from './admin-token.ts';
import { IdpClients } from './clients.ts';
import { deleteGrant, type GrantInfo, listGrants } from './grants.ts';
import { CsrfTokens } from './csrf.ts';
import { DeviceCookies } from './device-cookie.ts';
import { providerHook } from './http-mount.ts';
import { type NewDeviceSignIn, registerInteractions } from './interactions.ts';
import { Passkeys } from './passkeys.ts';
import { SecondFactors } from './second-factor.ts';
import { IssuedTokens, type RevokedSet } from './issued-tokens.ts';
import { jwtTokenEndpoints } from './jwt-token-endpoints.ts';
import { IdpKeys, type KeySet, publicJwks } from './keys.ts';
import { buildProvider } from './provider.ts';
import { WindowLimiter } from './rate-limit.ts';
import { RevocationBus, type RevocationHandler, type RevocationReason } from './revocation-bus.ts';
import { idpSecret } from './secrets.ts';

export interface IdpDeps {
  readonly config: Config;
  readonly db: Db;
  readonly directory: Directory;
  readonly logger: Logger;
}

/** The embedded issuer identifier: `PUBLIC_URL/oidc` (decided for every area; discovery uses the same). */
export function embeddedIssuer(config: Pick<Config, 'publicUrl'>): string {
  return `${config.publicUrl}/oidc`;
}

const KEY_CHECK_MS = 5_000;
const CLEANUP_MS = 10 * 60_000;
const JWKS_FRESH_MS = 1_000;

/**
 * The embedded OpenID provider: keys, token ledger and client administration (usable from the
 * admin CLI on the data directory), and — once mounted on the HTTPS app — oidc-provider with our
 * pages at `PUBLIC_URL/oidc` plus RFC 8414 metadata at `/.well-known/oauth-authorization-server/oidc`.
 */
export class EmbeddedIdp {
  readonly issuer: string;
  readonly keys: IdpKeys;
  readonly tokens: IssuedTokens;
  readonly clients: IdpClients;
  /** Revocations to and from other processes (the admin CLI, other nodes). */
  readonly revocations: RevocationBus;
  /** TOTP keys, recovery codes and passkeys of accounts (the account page changes them). */
  readonly secondFactors: SecondFactors;
  /** WebAuthn ceremonies for passkeys (registration from the account page, sign-in here). */
  readonly passkeys: Passkeys;
  readonly #deps: IdpDeps;
  readonly #mountPath: string;
  #keySet: KeySet | undefined;
  #keysReadAt = 0;
  #provider: Provider | undefined;
  #callback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  #cookieKeys: string[] = [];
  #timers: NodeJS.Timeout[] = [];

  constructor(deps: IdpDeps) {
    this.#deps = deps;
    this.issuer = embeddedIssuer(deps.config);
    this.#mountPath = new URL(this.issuer).pathname.replace(/\/$/, '');
    const idp = deps.config.idp;
    // A retired key stays published until every token it signed has expired, plus clock leeway.
    const retentionMs = Math.max(idp.access_token_ttl, idp.id_token_ttl) + deps.config.auth.leeway + 60_000;
    this.keys = new IdpKeys(deps.db, { retentionMs });
    this.tokens = new IssuedTokens(deps.db);
    this.revocations = new RevocationBus(deps.db, deps.logger.child({ component: 'idp' }));
    let factorSecret: Promise<string> | undefined;
    const secret = () => (factorSecret ??= idpSecret(deps.db, 'second-factor'));
    this.secondFactors = new SecondFactors(deps.db, secret);
    this.passkeys = new Passkeys({ publicUrl: deps.config.publicUrl, rpName: deps.config.server.name, store: this.secondFactors, secret });
    this.clients = new IdpClients(deps.db, async (metadata) => {
      const provider = await this.#providerInstance();
      await provider.Client.validate(metadata as Parameters<Provider['Client']['validate']>[0]);
    });
  }

  /** Where revocations go (main.ts wires the auth core's session registry here). */
  setRevocationHandler(handler: RevocationHandler): void {
    this.revocations.setHandler(handler);
  }

  /** The public JWKS: the current key and previous keys whose tokens may still be valid (re-read at most once a second). */
  async publicJwks(): Promise<JSONWebKeySet> {
    if (!this.#keySet || Date.now() - this.#keysReadAt > JWKS_FRESH_MS) await this.#refreshKeys();
    return publicJwks(this.#keySet!) as JSONWebKeySet;
  }

  /** `fingerpost admin token issue`: a signed RFC 9068 access token for an account. */
  issueAdminToken(request: AdminTokenRequest): Promise<AdminToken> {
    return issueAdminToken({ issuer: this.issuer, keys: this.keys, tokens: this.tokens, directory: this.#deps.directory }, request);
  }

  /** Revokes one token the provider (or `admin token issue`) signed, by `jti`, and ends its sessions. */
  async revokeToken(jti: string): Promise<RevokedSet> {
    const set = await this.tokens.revokeToken(jti);
    await this.#notify(set, 'token_revoked');
    return set;
  }

  /** The OAuth grants an account gave clients here (the account page's "devices"). */
  grantsOf(account: string): Promise<GrantInfo[]> {
    return listGrants(this.#deps.db, account);
  }

  /**
   * Revokes one of an account's grants: its refresh tokens stop working at once and the live
   * sessions of its access tokens end (RFC 7009 §2.1). False when the account has no such grant.
   */
  async revokeGrant(account: string, grantId: string): Promise<boolean> {
    if (!(await this.grantsOf(account)).some((g) => g.id === grantId)) return false;
    await deleteGrant(this.#deps.db, grantId);
    await this.#notify(await this.tokens.revokeGrant(grantId), 'grant_revoked');
    return true;
  }

  /** Removes a client and ends the sessions of every token it was issued. */
  async removeClient(clientId: string): Promise<RevokedSet> {
    await this.clients.remove(clientId);
    const set = await this.tokens.revokeClient(clientId);
    await this.#notify(set, 'client_removed');
    return set;
  }

  /**
   * Starts applying revocations from other processes, serves the back-channel logout endpoint for
   * trusted external issuers, and — when `idp.enabled` — mounts the provider and its pages on the
   * HTTPS app with key refresh and cleanup timers.
   */
  async mount(
    app: HttpsApp,
    options: {
      readonly issuers: IssuerRegistry;
      readonly auth: Pick<AuthCore, 'authenticate'>;
      /** The node's Prometheus registry, for the counter of refused registrations and user-code entries. */
      readonly metrics?: Registry;
      /** Told of each sign-in from a browser new to the account (main.ts mails the account a notice). */
      readonly onNewDevice?: (notice: NewDeviceSignIn) => void;
    },
  ): Promise<void> {
    const { config } = this.#deps;
    await this.revocations.start(config.auth.events_poll);
    registerBackchannelLogout(app, {
      issuers: options.issuers,
      leewaySec: Math.round(config.auth.leeway / 1000),
      logger: this.#deps.logger.child({ component: 'backchannel' }),
      publish: (r) => this.revocations.publish(r),
    });
    if (!config.idp.enabled) return;
    await this.#refreshKeys();
    await this.#providerInstance();
    const csrf = new CsrfTokens(await idpSecret(this.#deps.db, 'csrf'));
    const windowMs = config.idp.login_window;
    registerInteractions(app, {
      provider: () => this.#provider!,
      auth: options.auth,
      csrf,
      devices: new DeviceCookies(await idpSecret(this.#deps.db, 'device'), config.auth.limits.known_for),
      logger: this.#deps.logger.child({ component: 'idp' }),
      serverName: config.server.name,
      mountPath: this.#mountPath,
      secondFactors: this.secondFactors,
      passkeys: this.passkeys,
      pendingKey: Buffer.from(await idpSecret(this.#deps.db, 'second-factor'), 'base64url'),
      secondStepLimit: new WindowLimiter({ limit: 5, windowMs }),
      accountEnabled: async (address) => {
        const a = await this.#deps.directory.findByAddress(address);
        return !!a && !a.disabled && a.address === address;
      },
      ...(options.onNewDevice ? { onNewDevice: options.onNewDevice } : {}),
    });
    const registrations = new WindowLimiter({ limit: config.idp.registrations_per_ip, windowMs: config.idp.registration_window });
    // RFC 8628 §5.1: user-code entry is rate-limited like a password.
    const deviceEntries = new WindowLimiter({ limit: config.idp.login_attempts * 3, windowMs });
    const limited = new Counter({
      name: 'fingerpost_idp_rate_limited_total',
      help: 'Requests the embedded provider refused with 429: registrations per address (reg), user-code entries per address (device)',
      labelNames: ['endpoint'] as const,
      registers: [],
    });
    if (options.metrics && !options.metrics.getSingleMetric('fingerpost_idp_rate_limited_total')) options.metrics.registerMetric(limited);
    app.addHook(
      'onRequest',
      providerHook({
        mountPath: this.#mountPath,
        issuerHost: new URL(this.issuer).host,
        handler: () => this.#callback!,
        postLimits: { '/reg': registrations, '/device': deviceEntries },
        logger: this.#deps.logger.child({ component: 'idp' }),
        onLimited: (path) => limited.inc({ endpoint: path.replace(/^\//, '') }),
      }),
    );

    // Tokens revoked before this node started are refused too.
    const earlier = await this.tokens.revokedUnexpired();
    if (earlier.jtis.length) await this.revocations.apply({ kind: 'tokens', issuer: this.issuer, ...earlier, reason: 'token_revoked' });

    this.#timers.push(setInterval(() => void this.#refreshKeys().catch((err) => this.#warn('key refresh failed', err)), KEY_CHECK_MS));
    this.#timers.push(setInterval(() => void this.cleanup().catch((err) => this.#warn('cleanup failed', err)), CLEANUP_MS));
    for (const t of this.#timers) t.unref();
  }

  /** Deletes expired provider entries and token records and keys no token needs. */
  async cleanup(now = Date.now()): Promise<void> {
    await SqlAdapter.prune(this.#deps.db, now);
    await this.tokens.prune(now);
    await this.keys.prune();
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.revocations.stop();
  }

  async #providerInstance(): Promise<Provider> {
    if (!this.#keySet) await this.#refreshKeys();
    if (!this.#provider) await this.#rebuild();
    return this.#provider!;
  }

  async #refreshKeys(): Promise<void> {
    const set = await this.keys.load();
    this.#keysReadAt = Date.now();
    const changed = this.#keySet?.version !== set.version;
    this.#keySet = set;
    if (changed && this.#provider) await this.#rebuild();
  }

  async #rebuild(): Promise<void> {
    if (!this.#cookieKeys.length) this.#cookieKeys = [await idpSecret(this.#deps.db, 'cookie')];
    const keys = this.#keySet!;
    const provider = buildProvider({
      issuer: this.issuer,
      config: this.#deps.config,
      db: this.#deps.db,
      directory: this.#deps.directory,
      keys,
      cookieKeys: this.#cookieKeys,
      tokens: this.tokens,
      logger: this.#deps.logger.child({ component: 'idp' }),
      onGrantRevoked: (grantId) => {
        this.tokens
          .revokeGrant(grantId)
          .then((set) => this.#notify(set, 'grant_revoked'))
          .catch((err) => this.#warn('grant revocation failed', err));
      },
    });
    provider.use(
      jwtTokenEndpoints({
        issuer: this.issuer,
        keys,
        tokens: this.tokens,
        onRevoked: (set) => void this.#notify(set, 'token_revoked').catch((err) => this.#warn('token revocation failed', err)),
      }),
    );
    this.#provider = provider;
    this.#callback = provider.callback();
    if (keys.published.length > 1)
      this.#deps.logger.debug({ current: keys.current.kid, published: keys.published.length }, 'idp signing keys loaded');
  }

  /** Ends the sessions of revoked tokens here at once and tells every other node and process. */
  async #notify(set: RevokedSet, reason: RevocationReason): Promise<void> {
    if (!set.jtis.length) return;
    this.#deps.logger.info({ event: 'idp_revoked', reason, tokens: set.jtis.length }, 'tokens revoked');
    await this.revocations.publish({ kind: 'tokens', issuer: this.issuer, jtis: set.jtis, until: set.until, reason });
  }

  #warn(message: string, err: unknown): void {
    this.#deps.logger.warn({ err: (err as Error)?.message ?? String(err) }, message);
  }
}
