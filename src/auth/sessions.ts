import { randomId } from '../core/ids.ts';
import type { AuthContext, AuthResult, EndReason, LiveSession, SessionRegistration } from './types.ts';

// setTimeout holds at most 2^31-1 ms; longer expiries are re-armed.
const MAX_TIMER = 2_147_483_647;

interface Entry {
  readonly session: LiveSession;
  readonly end: (reason: EndReason) => void;
  timer?: NodeJS.Timeout;
}

/** Filters for ending sessions; every given field must match. */
export interface SessionMatch {
  readonly id?: string;
  readonly accountId?: number;
  readonly credentialId?: string;
  readonly method?: LiveSession['method'];
  readonly issuer?: string;
  readonly sessionId?: string;
  /** Only sessions that started before this time (epoch ms). */
  readonly startedBefore?: number;
}

export interface SessionRegistryOptions {
  readonly now?: () => number;
  /** `auth.end_session_on_expiry`: end a session when its credential expires. */
  readonly endOnExpiry: boolean;
  /** Told about every session that starts or stops (the store mirror, metrics). */
  readonly onStart?: (session: LiveSession) => void;
  readonly onStop?: (session: LiveSession, reason: EndReason | 'closed') => void;
}

/**
 * The live-session registry of this node (issue 3 "Live sessions"): every authenticated
 * connection registers; revocation (app password, account, token `jti`, OIDC `sid`) and expiry
 * call the protocol's own goodbye through `end`.
 */
export class SessionRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #options: SessionRegistryOptions;

  constructor(options: SessionRegistryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Registers an authenticated connection; `end` is its protocol's goodbye. */
  register(result: AuthResult, context: AuthContext, end: (reason: EndReason) => void): SessionRegistration {
    const session: LiveSession = {
      id: randomId('s'),
      accountId: result.account.id,
      address: result.account.address,
      protocol: context.protocol,
      listener: context.listener,
      remote: context.remote,
      method: result.method,
      startedAt: this.#now(),
      ...(result.credentialId !== undefined ? { credentialId: result.credentialId } : {}),
      ...(result.sessionId !== undefined ? { sessionId: result.sessionId } : {}),
      ...(result.issuer !== undefined ? { issuer: result.issuer } : {}),
      ...(result.expiresAt !== undefined ? { expiresAt: result.expiresAt } : {}),
    };
    const entry: Entry = { session, end };
    this.#entries.set(session.id, entry);
    if (this.#options.endOnExpiry && session.expiresAt !== undefined) this.#arm(entry);
    this.#options.onStart?.(session);
    return { session, unregister: () => this.#remove(session.id, 'closed') };
  }

  #arm(entry: Entry): void {
    const left = entry.session.expiresAt! - this.#now();
    if (left <= 0) {
      queueMicrotask(() => this.#endOne(entry, 'expired'));
      return;
    }
    entry.timer = setTimeout(() => (left > MAX_TIMER ? this.#arm(entry) : this.#endOne(entry, 'expired')), Math.min(left, MAX_TIMER));
    entry.timer.unref();
  }

  #remove(id: string, reason: EndReason | 'closed'): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.#entries.delete(id);
    this.#options.onStop?.(entry.session, reason);
    return entry;
  }

  #endOne(entry: Entry, reason: EndReason): void {
    if (!this.#remove(entry.session.id, reason)) return;
    try {
      entry.end(reason);
    } catch {
      // A protocol's goodbye failing (socket already gone) must not stop other sessions ending.
    }
  }

  /** The sessions on this node, oldest first. */
  list(): LiveSession[] {
    return [...this.#entries.values()].map((e) => e.session);
  }

  /** Ends every session matching all given fields; returns how many ended. */
  end(match: SessionMatch, reason: EndReason): number {
    const hits = [...this.#entries.values()].filter((e) => matches(e.session, match));
    for (const e of hits) this.#endOne(e, reason);
    return hits.length;
  }

  /** Ends every session (shutdown is the listeners' job; this is for `admin` and tests). */
  endAll(reason: EndReason): number {
    return this.end({}, reason);
  }
}

function matches(s: LiveSession, m: SessionMatch): boolean {
  return (
    (m.id === undefined || s.id === m.id) &&
    (m.accountId === undefined || s.accountId === m.accountId) &&
    (m.credentialId === undefined || s.credentialId === m.credentialId) &&
    (m.method === undefined || s.method === m.method) &&
    (m.issuer === undefined || s.issuer === m.issuer) &&
    (m.sessionId === undefined || s.sessionId === m.sessionId) &&
    (m.startedBefore === undefined || s.startedAt < m.startedBefore)
  );
}
