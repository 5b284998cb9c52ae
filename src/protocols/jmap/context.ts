import type { AuthResult } from '../../auth/types.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory, DirectoryAccount } from '../../directory/directory.ts';
import type { MailStore } from '../../mail/store.ts';
import type { MailSubmission } from '../../mail/submission/submission.ts';
import type { BlobStore } from '../../store/blobs.ts';
import type { Db } from '../../store/db.ts';
import type { Args, JsonObject } from './args.ts';
import { CAPABILITIES, type JmapLimits } from './capabilities.ts';
import { MethodError } from './errors.ts';
import { fromId, toId } from './ids.ts';

/** What JMAP needs from the node: storage, the mail store, the directory and the outbound path. */
export interface JmapServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
  readonly mail: MailStore;
  readonly blobs: BlobStore;
  readonly directory: Directory;
  readonly limits: JmapLimits;
  /** The mail submission use case SMTP submission uses too (sender policy, limits, local delivery, the queue). */
  readonly submission: MailSubmission;
  readonly now: () => number;
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

  /** The JMAP account id of the caller's own account. */
  get accountId(): string {
    return toId('account', this.caller.account.id);
  }

  /**
   * Checks `accountId` (RFC 8620 §3.6.2): only the caller's own account exists for them
   * (`accountNotFound` otherwise), and it must support `capability`. Returns the store account id.
   */
  account(args: Args, capability: string = CAPABILITIES.mail): number {
    const id = args.requiredId('accountId');
    const n = fromId('account', id);
    if (n === undefined || n !== this.caller.account.id) throw new MethodError('accountNotFound');
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

/** Capabilities every account on this server supports. */
const CAPABILITIES_BY_ACCOUNT: Readonly<Record<string, true>> = {
  [CAPABILITIES.core]: true,
  [CAPABILITIES.mail]: true,
  [CAPABILITIES.submission]: true,
  [CAPABILITIES.vacation]: true,
  [CAPABILITIES.quota]: true,
  [CAPABILITIES.blob]: true,
};
