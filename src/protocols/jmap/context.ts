import type { AuthResult } from '../../auth/types.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory, DirectoryAccount } from '../../directory/directory.ts';
import type { SieveScripts } from '../../mail/sieve/scripts.ts';
import type { JmapMailView } from '../../mail/views.ts';
import type { MailSubmission } from '../../mail/submission/submission.ts';
import type { BlobStore } from '../../store/blobs.ts';
import type { Args, JsonObject } from './args.ts';
import { CAPABILITIES, type JmapLimits } from './capabilities.ts';
import { MethodError } from './errors.ts';
import { fromId, toId } from './ids.ts';
import type { SharedAccess } from './sharing/shared-mail.ts';

/** What JMAP needs from the node: storage, the mail store, the directory and the outbound path. */
export interface JmapServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly mail: JmapMailView;
  readonly blobs: BlobStore;
  readonly directory: Directory;
  readonly limits: JmapLimits;
  /** The mail submission use case SMTP submission uses too (sender policy, limits, local delivery, the queue). */
  readonly submission: MailSubmission;
  readonly now: () => number;
  /** Each account's Sieve scripts (src/mail/sieve/scripts.ts), managed by SieveScript/* (RFC 9661). */
  readonly sieve?: SieveScripts;
  /** Counts a refusal by a limit (`/metrics`); absent in tests that do not count. */
  readonly limitHit?: (limit: string) => void;
}

/** The authenticated user of a request. */
export interface Caller {
  readonly account: DirectoryAccount;
  readonly auth: AuthResult;
}

/** A response a method adds after its own (RFC 8620 §3.4: one call may produce several responses). */
export type ExtraResponse = [string, JsonObject];

/**
 * Per-request state shared by the method calls of one JMAP request (RFC 8620 §3.3): the caller,
 * the capabilities in `using`, and the creation ids (`createdIds`) visible to later calls.
 */
export class MethodContext {
  readonly services: JmapServices;
  readonly caller: Caller;
  readonly using: ReadonlySet<string>;
  readonly createdIds: Map<string, string>;
  /** Responses queued by the running method to follow its own. */
  extra: ExtraResponse[] = [];

  constructor(services: JmapServices, caller: Caller, using: ReadonlySet<string>, createdIds: Map<string, string>) {
    this.services = services;
    this.caller = caller;
    this.using = using;
    this.createdIds = createdIds;
  }

  /** A shared account (RFC 9670 §1.4) the running method was let into; see `asShared`. */
  #sharedTarget: number | undefined;
  #sharedAccess: SharedAccess | undefined;

  /** The caller's rights in the shared account the running method works on (RFC 9670 §1.4), if any. */
  get shared(): SharedAccess | undefined {
    return this.#sharedAccess;
  }

  /** The JMAP account id the running method works on: the caller's own, or a shared one. */
  get accountId(): string {
    return toId('account', this.#sharedTarget ?? this.caller.account.id);
  }

  /**
   * Runs `fn` with another account shared with the caller allowed as `accountId` (RFC 9670
   * §1.4), its rights in `shared`; the caller of this checked the rights it needs
   * (src/protocols/jmap/sharing/).
   */
  async asShared<T>(access: SharedAccess, fn: () => Promise<T>): Promise<T> {
    this.#sharedTarget = access.ownerId;
    this.#sharedAccess = access;
    try {
      return await fn();
    } finally {
      this.#sharedTarget = undefined;
      this.#sharedAccess = undefined;
    }
  }

  /**
   * Checks `accountId` (RFC 8620 §3.6.2): the caller's own account, or within `asShared` that
   * shared account (`accountNotFound` otherwise), which must support `capability`. Returns the
   * store account id.
   */
  account(args: Args, capability: string = CAPABILITIES.mail): number {
    const id = args.requiredId('accountId');
    const n = fromId('account', id);
    if (n === undefined || (n !== this.caller.account.id && n !== this.#sharedTarget)) throw new MethodError('accountNotFound');
    if (n === this.#sharedTarget && !SHARED_CAPABILITIES.has(capability)) throw new MethodError('accountNotSupportedByMethod');
    if (!Object.hasOwn(CAPABILITIES_BY_ACCOUNT, capability)) throw new MethodError('accountNotSupportedByMethod');
    return n;
  }

  /** Resolves `#creationId` references (RFC 8620 §5.3) to the server id; other values pass through. */
  resolveId(value: string): string | undefined {
    if (!value.startsWith('#')) return value;
    return this.createdIds.get(value.slice(1));
  }

  /** Records a creation so later calls may refer to `#creationId`. */
  created(creationId: string, id: string): void {
    this.createdIds.set(creationId, id);
  }
}

/** What a shared account supports (RFC 9670 §1.4): its mail, and blobs to read and import them. */
const SHARED_CAPABILITIES: ReadonlySet<string> = new Set([CAPABILITIES.core, CAPABILITIES.mail, CAPABILITIES.blob]);

/** Capabilities every account on this server supports. */
const CAPABILITIES_BY_ACCOUNT: Readonly<Record<string, true>> = {
  [CAPABILITIES.core]: true,
  [CAPABILITIES.mail]: true,
  [CAPABILITIES.submission]: true,
  [CAPABILITIES.vacation]: true,
  [CAPABILITIES.quota]: true,
  [CAPABILITIES.blob]: true,
  [CAPABILITIES.principals]: true,
  [CAPABILITIES.principalsOwner]: true,
  [CAPABILITIES.sieve]: true,
};
