import type { Logger } from '../core/log.ts';
import type { Db } from '../store/db.ts';
import { pollEvents, publishEvent, type StoredEvent } from '../store/events.ts';

/** Event kind (store/events.ts) carrying a revocation to every node and process. */
export const REVOCATION_EVENT = 'oidc_revocation';

/** Why something was revoked, for the sessions it ends and the log. */
export type RevocationReason = 'grant_revoked' | 'token_revoked' | 'client_removed' | 'backchannel_logout';

/**
 * A revocation the auth core must apply: tokens by `jti` (RFC 7009, grant revocation, client
 * removal) or an OIDC session by `sid` (OIDC Back-Channel Logout 1.0 §2.7). `until` is when the
 * tokens would expire anyway (epoch ms), i.e. how long they must be remembered as revoked.
 */
export type Revocation =
  | {
      readonly kind: 'tokens';
      readonly issuer: string;
      readonly jtis: readonly string[];
      readonly until: number;
      readonly reason: RevocationReason;
    }
  | { readonly kind: 'session'; readonly issuer: string; readonly sid: string; readonly until: number; readonly reason: RevocationReason };

export type RevocationHandler = (revocation: Revocation) => void | Promise<void>;

const REASONS: readonly RevocationReason[] = ['grant_revoked', 'token_revoked', 'client_removed', 'backchannel_logout'];

/** Reads a revocation back from an event payload; undefined when it is not a well-formed one. */
export function parseRevocation(payload: Record<string, unknown>): Revocation | undefined {
  const { kind, issuer, until } = payload;
  const reason = REASONS.find((r) => r === payload.reason) ?? 'token_revoked';
  if (typeof issuer !== 'string' || typeof until !== 'number') return undefined;
  if (kind === 'tokens' && Array.isArray(payload.jtis))
    return { kind, issuer, until, reason, jtis: payload.jtis.filter((j): j is string => typeof j === 'string') };
  if (kind === 'session' && typeof payload.sid === 'string') return { kind, issuer, until, reason, sid: payload.sid };
  return undefined;
}

/**
 * Carries revocations between processes: `publish` applies one here at once and records it in
 * the shared events table; every running node polls the table and applies what others published
 * (the admin CLI, another node behind the same PostgreSQL), so a revocation anywhere ends the
 * live sessions everywhere within the poll interval.
 */
export class RevocationBus {
  readonly #db: Db;
  readonly #logger: Logger;
  #handler: RevocationHandler | undefined;
  #stop: (() => void) | undefined;

  constructor(db: Db, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
  }

  setHandler(handler: RevocationHandler): void {
    this.#handler = handler;
  }

  /** Applies a revocation in this process and announces it to the others. */
  async publish(revocation: Revocation): Promise<void> {
    await publishEvent(this.#db, REVOCATION_EVENT, { ...revocation });
    await this.apply(revocation);
  }

  /** Applies a revocation in this process only. */
  async apply(revocation: Revocation): Promise<void> {
    try {
      await this.#handler?.(revocation);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message, kind: revocation.kind }, 'applying a revocation failed');
    }
  }

  /** Starts applying revocations published elsewhere (polling every `intervalMs`). */
  async start(intervalMs = 1000): Promise<void> {
    if (this.#stop) return;
    this.#stop = await pollEvents(
      this.#db,
      intervalMs,
      (event: StoredEvent) => {
        if (event.kind !== REVOCATION_EVENT) return;
        const r = parseRevocation(event.payload);
        if (r) void this.apply(r);
      },
      (err) => this.#logger.warn({ err: (err as Error)?.message ?? String(err) }, 'polling revocations failed'),
    );
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }
}
