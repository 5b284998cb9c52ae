import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { isFingerpostError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import type { Logger } from '../core/log.ts';
import type { Db } from '../store/db.ts';
import { authFailure } from './failures.ts';
import { HttpAuthenticator } from './http/authenticator.ts';
import { registerProtectedResourceMetadata } from './http/fastify.ts';
import { type InProcessIssuer, IssuerRegistry } from './issuers/registry.ts';
import { FailureLimits } from './limits/failures.ts';
import { publishEvent, SOURCE_BANNED } from '../store/events.ts';
import { AccountCache } from './account-cache.ts';
import { recheckAccounts } from './account-recheck.ts';
import { AuthMetrics } from './metrics.ts';
import { listenerPolicy } from './policy.ts';
import { RevocationList } from './revocations.ts';
import { SessionMirror } from './session-store.ts';
import { SessionSync } from './session-sync.ts';
import { SessionRegistry } from './sessions.ts';
import { TokenRecheck } from './token-recheck.ts';
import type {
  AuthContext,
  AuthCore,
  AuthFailure,
  AuthOutcome,
  AuthResult,
  Credentials,
  EndReason,
  ListenerPolicy,
  SessionRegistration,
} from './types.ts';
import { BearerVerifier } from './verifiers/bearer.ts';
import { IntrospectionClient } from './verifiers/introspection.ts';
import { type PasswordDirectory, verifyPasswordLogin } from './verifiers/password-login.ts';
import { VerifiedPasswordCache } from './verifiers/password.ts';

/** What the auth service needs: config, an account source, logging, a clock, and the store (for live sessions). */
export interface AuthServiceDeps {
  readonly config: Config;
  readonly directory: PasswordDirectory;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Without a store, sessions are not mirrored and revocations from other processes are not seen. */
  readonly db?: Db;
}

// Recording every use of an app password would write on each login; once a minute is enough.
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The authentication core every protocol calls (docs/architecture.md "One auth entry point"):
 * policy per listener, password / app-password verification, and the live-session registry.
 */
export class AuthService implements AuthCore {
  readonly config: Config;
  readonly sessions: SessionRegistry;
  /** The trusted token issuers; `main.ts` adds the embedded provider with `trustEmbeddedIssuer`. */
  readonly issuers: IssuerRegistry;
  readonly revocations: RevocationList;
  /** HTTP authentication (Basic, Bearer, gateway) for JMAP, calendars and web routes. */
  readonly http: HttpAuthenticator;
  readonly limits: FailureLimits;
  readonly metrics: AuthMetrics;
  /** This process's id in the `auth_sessions` table. */
  readonly node = randomId('n');
  readonly #bearer: BearerVerifier;
  readonly #recheck: TokenRecheck;
  readonly #db: Db | undefined;
  #mirror: SessionMirror | undefined;
  #sync: SessionSync | undefined;
  readonly #directory: PasswordDirectory;
  readonly #log: Logger;
  /**
   * The audit line's logger: its object is flat and built field by field in `#audit`, so the
   * process-wide wildcard redaction (`core/log.ts`) is replaced by the flat keys alone, which
   * costs a fraction per line.
   */
  readonly #auditLog: Logger;
  readonly #now: () => number;
  readonly #passwordCache = new VerifiedPasswordCache();
  readonly #policies = new Map<string, ListenerPolicy>();
  readonly #touched = new Map<number, { at: number; remote: string }>();
  /** Accounts named by tokens, kept for at most one events poll (`account-cache.ts`). */
  readonly #accounts: AccountCache;

  constructor(deps: AuthServiceDeps) {
    this.config = deps.config;
    this.#directory = deps.directory;
    this.#log = deps.logger.child({ component: 'auth' });
    this.#auditLog = this.#log.child({}, { redact: { paths: ['password', 'secret', 'token', 'sasl'], censor: '[redacted]' } });
    this.#now = deps.now ?? Date.now;
    this.#db = deps.db;
    const l = deps.config.auth.limits;
    this.limits = new FailureLimits({
      ipFailures: l.ip_failures,
      sprayAccounts: l.spray_accounts,
      accountFailures: l.account_failures,
      accountAttack: l.account_attack,
      delayAfter: l.delay_after,
      maxDelayMs: l.max_delay,
      windowMs: l.window,
      banMs: l.ban,
      knownForMs: l.known_for,
      exempt: l.exempt,
      now: this.#now,
    });
    this.metrics = new AuthMetrics({ banned: () => this.limits.bannedCount(), underAttack: () => this.limits.accountsUnderAttack() });
    this.sessions = new SessionRegistry({
      now: this.#now,
      endOnExpiry: deps.config.auth.end_session_on_expiry,
      onStart: (s) => {
        this.metrics.sessions.inc({ protocol: s.protocol, method: s.method });
        this.#mirror?.started(s);
      },
      onStop: (s, reason) => {
        this.metrics.sessions.dec({ protocol: s.protocol, method: s.method });
        this.#mirror?.stopped(s);
        this.#recheck.unwatch(s.id);
        if (reason !== 'closed') {
          this.metrics.sessionsEnded.inc({ reason });
          this.#log.info(
            { event: 'session_end', session: s.id, user: s.address, protocol: s.protocol, remote: s.remote, reason },
            'session ended',
          );
        }
      },
    });
    this.issuers = new IssuerRegistry({
      now: this.#now,
      onJwksLoad: (_issuer, ok) => this.metrics.jwksLoads.inc({ result: ok ? 'ok' : 'error' }),
      onError: (issuer, err) => this.#log.warn({ issuer, err: (err as Error).message }, 'cannot load the keys of a token issuer'),
    });
    for (const issuer of deps.config.auth.issuers) this.issuers.addConfigured(issuer);
    this.revocations = new RevocationList(this.#now);
    const introspection = new IntrospectionClient(this.#now);
    this.#recheck = new TokenRecheck(this.issuers, introspection);
    this.#accounts = new AccountCache(deps.directory, Math.min(1_000, deps.config.auth.events_poll), this.#now);
    this.#bearer = new BearerVerifier({
      config: deps.config,
      issuers: this.issuers,
      directory: this.#accounts,
      introspection,
      revocations: this.revocations,
      now: this.#now,
    });
    this.http = new HttpAuthenticator({
      auth: this,
      config: deps.config,
      onIgnoredGateway: (remote) => this.#log.warn({ remote }, 'ignored a gateway header from an untrusted address'),
    });
  }

  /**
   * Starts what a serving node needs (`main.ts` startServer): the events poller that ends sessions
   * on revocations made by the admin CLI or other nodes, the session mirror, token re-checks.
   */
  async start(): Promise<void> {
    if (!this.#db || this.#sync) return;
    this.#mirror = new SessionMirror(this.#db, this.node, this.#now);
    for (const s of this.sessions.list()) this.#mirror.started(s);
    const recheck = this.config.auth.issuers.filter((i) => i.introspection_endpoint).map((i) => i.introspection_cache);
    const ldapTtls = this.config.directory.ldap.map((l) => l.cache_ttl);
    this.#sync = new SessionSync({
      db: this.#db,
      sessions: this.sessions,
      mirror: this.#mirror,
      revocations: this.revocations,
      recheck: this.#recheck,
      limits: this.limits,
      directory: this.#directory,
      accounts: this.#accounts,
      logger: this.#log,
      pollMs: this.config.auth.events_poll,
      recheckMs: Math.max(5_000, Math.min(60_000, ...recheck)),
      ...(ldapTtls.length
        ? { accountRecheckMs: Math.max(1_000, Math.min(...ldapTtls)), recheckAccounts: () => this.recheckAccounts() }
        : {}),
    });
    await this.#sync.start();
  }

  /** Stops the poller and timers and removes this node's session rows. */
  async stop(): Promise<void> {
    const sync = this.#sync;
    this.#sync = undefined;
    this.#mirror = undefined;
    await sync?.stop();
  }

  /** The events handler, for tests and for applying an event without waiting for the poll. */
  get sync(): SessionSync | undefined {
    return this.#sync;
  }

  /** Re-introspects the tokens of live sessions now (a timer does it while serving); returns how many ended. */
  recheckTokens(): Promise<number> {
    return this.#recheck.sweep();
  }

  /**
   * Re-reads the account of every live session from the directory now and ends those of accounts
   * gone or disabled (a timer does it every `directory.ldap.cache_ttl` while serving); returns how many ended.
   */
  recheckAccounts(): Promise<number> {
    return recheckAccounts(this.sessions, this.#directory);
  }

  /** Writes pending session starts and stops to the store now. */
  async flushSessions(): Promise<void> {
    await this.#mirror?.flush();
  }

  /** Registers the auth core's own HTTP routes: RFC 9728 protected-resource metadata. */
  registerHttpRoutes(app: FastifyInstance): void {
    registerProtectedResourceMetadata(app, { config: this.config, issuers: () => this.issuers.list().map((i) => i.issuer) });
  }

  /**
   * Trusts the embedded OpenID provider, whose keys come from a function in this process (no
   * HTTP). Does nothing when `auth.embedded_issuer` is off; returns whether it is trusted.
   */
  trustEmbeddedIssuer(issuer: InProcessIssuer): boolean {
    if (!this.config.auth.embedded_issuer) return false;
    this.issuers.addInProcess(issuer);
    return true;
  }

  policy(listener: string): ListenerPolicy {
    let p = this.#policies.get(listener);
    if (!p) {
      p = listenerPolicy(this.config, listener, () => this.issuers.size > 0);
      this.#policies.set(listener, p);
    }
    return p;
  }

  /** Adds the auth core's metrics to the node's Prometheus registry. */
  registerMetrics(registry: Registry): void {
    this.metrics.register(registry);
  }

  /**
   * Checks a credential under the failure limits shared by every protocol (`limits/failures.ts`):
   * an attempt the limits refuse is answered `rate_limited` without looking at the secret; a
   * failure is recorded and answered late; a success makes the source known for the account.
   */
  async authenticate(credentials: Credentials, context: AuthContext): Promise<AuthOutcome> {
    const attempt = { ip: context.remote, account: claimedAccount(credentials), device: context.device };
    const gate = this.limits.check(attempt);
    let outcome: AuthOutcome;
    if (!gate.allowed) {
      this.metrics.limited.inc({ limit: gate.limit });
      outcome = authFailure('rate_limited', {
        retryAfterMs: gate.retryAfterMs,
        ...(credentials.kind === 'bearer' ? { oauth: { status: 'invalid_request' } } : {}),
      });
    } else {
      if (gate.pass !== 'clean') this.metrics.knownPasses.inc({ kind: gate.pass === 'known_device' ? 'device' : 'source' });
      try {
        outcome = await this.#authenticate(credentials, context);
      } catch (err) {
        // An account source that cannot be reached (LDAP down) is expected now and then; anything else is a bug.
        if (isFingerpostError(err, 'unavailable'))
          this.#log.warn({ err: (err as Error).message, listener: context.listener }, 'the account directory cannot be reached');
        else this.#log.error({ err: (err as Error).message, listener: context.listener }, 'authentication failed unexpectedly');
        outcome = authFailure('temporary');
      }
      if (outcome.ok) this.limits.success(attempt);
      else if (countsAsFailure(credentials, outcome)) {
        const { delayMs, banned, accountUnderAttack } = this.limits.failure(attempt);
        if (banned) {
          this.metrics.bans.inc({ reason: banned });
          // Every node refuses the source from now on, not only the one it happened to reach.
          if (this.#db)
            await publishEvent(this.#db, SOURCE_BANNED, { ip: context.remote, until: this.#now() + this.config.auth.limits.ban }).catch(
              (err: Error) => this.#log.warn({ err: err.message }, 'could not share a client ban with the other nodes'),
            );
          this.#log.warn(
            { event: 'auth_ban', remote: context.remote, reason: banned, minutes: Math.round(this.config.auth.limits.ban / 60_000) },
            'client banned',
          );
        }
        if (accountUnderAttack) {
          this.metrics.accountAttacks.inc();
          this.#log.warn(
            {
              event: 'auth_account_attack',
              user: attempt.account,
              remote: context.remote,
              failures: this.config.auth.limits.account_attack,
            },
            'failed sign-ins to one account from many addresses: addresses that failed on it are refused for it',
          );
        }
        if (delayMs) {
          this.metrics.limited.inc({ limit: 'delay' });
          await sleep(delayMs);
        }
      }
    }
    this.metrics.attempts.inc({
      protocol: context.protocol,
      mechanism: credentials.kind === 'gateway' ? 'GATEWAY' : credentials.mechanism,
      result: outcome.ok ? 'ok' : outcome.code,
    });
    this.#audit(credentials, context, outcome);
    return outcome;
  }

  async #authenticate(credentials: Credentials, context: AuthContext): Promise<AuthOutcome> {
    if (!context.tls) return authFailure('policy', { publicReason: 'credentials are only accepted over TLS' });
    const policy = this.policy(context.listener);
    switch (credentials.kind) {
      case 'password': {
        const form = credentials.mechanism === 'FORM';
        if (form && context.protocol !== 'http') return authFailure('policy');
        if (!policy.plain && !form) return authFailure('policy', { publicReason: 'password sign-in is disabled here' });
        return verifyPasswordLogin(
          { directory: this.#directory, cache: this.#passwordCache, now: this.#now, touch: (id, use) => this.#touch(id, use) },
          credentials,
          context,
          { appPasswords: !form },
        );
      }
      case 'bearer': {
        if (!policy.oauth) return authFailure('policy', { publicReason: 'OAuth sign-in is disabled here' });
        const outcome = await this.#bearer.verify(credentials, context);
        if (outcome.ok) this.#recheck.remember(outcome, credentials.token);
        return outcome;
      }
      case 'gateway': {
        if (context.protocol !== 'http') return authFailure('policy');
        const account = await this.#directory.findByAddress(credentials.username);
        if (!account) return authFailure('invalid_credentials');
        if (account.disabled) return authFailure('authorization_failed', { publicReason: 'the account is disabled' });
        return { ok: true, account, method: 'gateway', scopes: [] };
      }
    }
  }

  #touch(id: number, use: { remote: string; protocol: string }): void {
    const now = this.#now();
    const last = this.#touched.get(id);
    // A use from another address is recorded at once; the same address once per interval.
    if (last && last.at > now - TOUCH_INTERVAL_MS && last.remote === use.remote) return;
    if (this.#touched.size > 10_000) this.#touched.clear();
    this.#touched.set(id, { at: now, remote: use.remote });
    this.#directory
      .touchAppPassword(id, use)
      .catch((err: Error) => this.#log.warn({ err: err.message }, 'could not record app-password use'));
  }

  /** One audit line per attempt: who, how, from where, the result code; never the secret. */
  #audit(credentials: Credentials, context: AuthContext, outcome: AuthOutcome): void {
    const claimed = credentials.username;
    this.#auditLog.info(
      {
        event: 'auth',
        protocol: context.protocol,
        listener: context.listener,
        remote: context.remote,
        mechanism: credentials.kind === 'gateway' ? 'GATEWAY' : credentials.mechanism,
        user: outcome.ok ? outcome.account.address : claimed?.slice(0, 320),
        result: outcome.ok ? 'ok' : outcome.code,
        ...(outcome.ok ? { method: outcome.method } : {}),
        ...(outcome.ok && outcome.credentialId && outcome.method === 'app_password' ? { appPassword: outcome.credentialId } : {}),
        ...(outcome.ok && outcome.issuer ? { issuer: outcome.issuer } : {}),
        ...(!outcome.ok && outcome.tokenError ? { reason: outcome.tokenError } : {}),
      },
      'auth',
    );
  }

  register(result: AuthResult, context: AuthContext, end: (reason: EndReason) => void): SessionRegistration {
    const registration = this.sessions.register(result, context, end);
    const id = registration.session.id;
    this.#recheck.watch(id, result, (reason) => this.sessions.end({ id }, reason));
    return registration;
  }
}

/** The account name an attempt claims, for per-account counters (lower-cased; may not exist). */
function claimedAccount(credentials: Credentials): string | undefined {
  const name = credentials.kind === 'gateway' ? undefined : credentials.username;
  return name ? name.toLowerCase().slice(0, 320) : undefined;
}

/**
 * Failures that look like guessing: wrong passwords and bad tokens. Not an expired token (a
 * client refreshing late), not the RFC 7628 §4.3 empty-token probe, not policy or outages.
 */
function countsAsFailure(credentials: Credentials, outcome: AuthFailure): boolean {
  if (outcome.code === 'invalid_credentials') return true;
  if (outcome.code !== 'invalid_token' || credentials.kind !== 'bearer' || !credentials.token) return false;
  return !outcome.expired;
}
