import type { Logger } from '../core/log.ts';
import type { DirectoryAccount } from '../directory/directory.ts';
import type { Db } from '../store/db.ts';
import { APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED, pollEvents, SOURCE_BANNED, type StoredEvent } from '../store/events.ts';
import type { FailureLimits } from './limits/failures.ts';
import type { RevocationList } from './revocations.ts';
import { SESSION_REVOKED, type SessionMirror } from './session-store.ts';
import type { SessionRegistry } from './sessions.ts';
import type { TokenRecheck } from './token-recheck.ts';

/** Event kinds this module reacts to (defined in store/events.ts, re-exported for callers). */
export { APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED, SOURCE_BANNED };

export interface SessionSyncDeps {
  readonly db: Db;
  readonly sessions: SessionRegistry;
  readonly mirror: SessionMirror;
  readonly revocations: RevocationList;
  readonly recheck: TokenRecheck;
  /** This node's failure limits, which take the bans other nodes publish. */
  readonly limits?: Pick<FailureLimits, 'applyBan'>;
  readonly directory: { getAccount(id: number): Promise<DirectoryAccount | undefined> };
  /** Cached account lookups to forget when an account changes. */
  readonly accounts?: { forget(accountId: number): void };
  readonly logger: Logger;
  readonly pollMs: number;
  /** How often live tokens are re-introspected. */
  readonly recheckMs: number;
  readonly heartbeatMs?: number;
  /** With an outside directory (LDAP): how often live sessions' accounts are asked for again. */
  readonly accountRecheckMs?: number;
  readonly recheckAccounts?: () => Promise<number>;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Connects this node's live sessions to the rest of the deployment: polls the shared events
 * table for password changes, disabled or removed accounts, revoked app passwords and admin
 * revocations and ends the matching sessions; takes the client bans other nodes decided; mirrors
 * sessions into the store for
 * `fingerpost admin session list`; re-introspects live tokens.
 */
export class SessionSync {
  readonly #d: SessionSyncDeps;
  #stopPoll: (() => void) | undefined;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(deps: SessionSyncDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    const { logger, mirror, pollMs } = this.#d;
    this.#stopPoll = await pollEvents(
      this.#d.db,
      pollMs,
      (event) => {
        this.handle(event).catch((err: Error) =>
          logger.warn({ err: err.message, event: event.kind }, 'could not apply an event to live sessions'),
        );
      },
      (err) => logger.warn({ err: (err as Error).message }, 'cannot read the events table'),
    );
    const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
      const t = setInterval(() => fn().catch((err: Error) => logger.warn({ err: err.message }, what)), ms);
      t.unref();
      this.#timers.push(t);
    };
    every(pollMs, () => mirror.flush(), 'cannot record live sessions');
    every(this.#d.heartbeatMs ?? 30_000, () => mirror.heartbeat(), 'cannot refresh live sessions');
    every(this.#d.recheckMs, () => this.#d.recheck.sweep(), 'cannot re-check live tokens');
    const accounts = this.#d.recheckAccounts;
    if (accounts && this.#d.accountRecheckMs) every(this.#d.accountRecheckMs, accounts, 'cannot re-check the accounts of live sessions');
  }

  /** Stops polling and removes this node's session rows. */
  async stop(): Promise<void> {
    this.#stopPoll?.();
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    await this.#d.mirror.clear().catch(() => {});
  }

  /** Applies one event to this node's sessions; returns how many ended. */
  async handle(event: StoredEvent): Promise<number> {
    const { sessions } = this.#d;
    const p = event.payload;
    switch (event.kind) {
      case CREDENTIALS_CHANGED: {
        const accountId = num(p.accountId);
        if (accountId === undefined) return 0;
        this.#d.accounts?.forget(accountId);
        const account = await this.#d.directory.getAccount(accountId);
        if (!account || account.disabled) return sessions.end({ accountId }, 'account_disabled');
        // A new password ends what the old one opened; app passwords and tokens are separate credentials.
        return sessions.end({ accountId, method: 'password', startedBefore: account.credentialsChangedAt + 1 }, 'credentials_changed');
      }
      case APP_PASSWORD_REVOKED: {
        const id = num(p.appPasswordId);
        return id === undefined ? 0 : sessions.end({ method: 'app_password', credentialId: String(id) }, 'revoked');
      }
      case SESSION_REVOKED: {
        const sessionId = str(p.sessionId);
        if (sessionId) return sessions.end({ id: sessionId }, 'admin');
        const accountId = num(p.accountId);
        if (accountId !== undefined) return sessions.end({ accountId }, 'admin');
        const issuer = str(p.issuer);
        const jti = str(p.jti);
        if (issuer && jti) {
          this.#d.revocations.revokeJti(issuer, jti, num(p.until) ?? Date.now() + 86_400_000);
          return sessions.end({ issuer, credentialId: jti }, 'revoked');
        }
        return 0;
      }
      case SOURCE_BANNED: {
        const ip = str(p.ip);
        const until = num(p.until);
        if (ip && until !== undefined) this.#d.limits?.applyBan(ip, until);
        return 0;
      }
      default:
        return 0;
    }
  }
}
