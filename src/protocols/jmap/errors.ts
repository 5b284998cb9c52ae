/**
 * JMAP errors at their three levels (RFC 8620 §3.6): request-level problem types (answered as
 * problem+json), method-level errors (an `error` invocation inside a 200), and record-level
 * SetErrors in `notCreated` / `notUpdated` / `notDestroyed` (§5.3).
 */

/** Request-level problem types (RFC 8620 §3.6.1). */
export const PROBLEM = {
  unknownCapability: 'urn:ietf:params:jmap:error:unknownCapability',
  notJSON: 'urn:ietf:params:jmap:error:notJSON',
  notRequest: 'urn:ietf:params:jmap:error:notRequest',
  limit: 'urn:ietf:params:jmap:error:limit',
} as const;

/** Method-level error types (RFC 8620 §3.6.2, §5; RFC 8621 method-specific ones). */
export type MethodErrorType =
  | 'serverUnavailable'
  | 'serverFail'
  | 'serverPartialFail'
  | 'unknownMethod'
  | 'invalidArguments'
  | 'invalidResultReference'
  | 'forbidden'
  | 'accountNotFound'
  | 'accountNotSupportedByMethod'
  | 'accountReadOnly'
  | 'requestTooLarge'
  | 'stateMismatch'
  | 'cannotCalculateChanges'
  | 'anchorNotFound'
  | 'unsupportedSort'
  | 'unsupportedFilter'
  | 'tooManyChanges'
  | 'fromAccountNotFound'
  /** Blob/lookup names a type it cannot look blobs up in (RFC 9404 §4.3). */
  | 'unknownDataType'
  | 'fromAccountNotSupportedByMethod';

/** Thrown by a method handler; the dispatcher turns it into `["error", {type, …}, callId]`. */
export class MethodError extends Error {
  readonly type: MethodErrorType;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(type: MethodErrorType, description?: string, extra: Record<string, unknown> = {}) {
    super(description ?? type);
    this.type = type;
    this.extra = description === undefined ? extra : { description, ...extra };
  }
}

/** Shorthand for the most common method error. */
export function invalidArguments(description: string): MethodError {
  return new MethodError('invalidArguments', description);
}

/** A record-level error (RFC 8620 §5.3 SetError) with its optional details. */
export interface SetError {
  readonly type: string;
  readonly description?: string;
  /** For `invalidProperties`: the offending properties. */
  readonly properties?: readonly string[];
  readonly [extra: string]: unknown;
}

/** Thrown while creating or updating one record; caught per record by /set handlers. */
export class SetErrorException extends Error {
  readonly error: SetError;

  constructor(error: SetError) {
    super(error.description ?? error.type);
    this.error = error;
  }
}

/** A SetError for invalid properties. */
export function invalidProperties(properties: readonly string[], description?: string): SetErrorException {
  return new SetErrorException({ type: 'invalidProperties', properties, ...(description ? { description } : {}) });
}

/** Throws a SetError of `type`. */
export function setError(type: string, description?: string, extra: Record<string, unknown> = {}): SetErrorException {
  return new SetErrorException({ type, ...(description ? { description } : {}), ...extra });
}

/**
 * Collects the invalid properties of one record so its SetError names every one of them, not
 * only the first found (RFC 8620 §5.3 `invalidProperties`, RFC 8621 §4.6), and the blob ids a
 * creation refers to that do not exist (RFC 8621 §4.6 `blobNotFound` lists them all).
 */
export class PropertyProblems {
  readonly #properties: string[] = [];
  readonly #descriptions: string[] = [];
  readonly #missingBlobs: string[] = [];

  /** Records invalid properties. */
  add(properties: readonly string[], description?: string): void {
    this.#properties.push(...properties);
    if (description) this.#descriptions.push(description);
  }

  /** Records a blob id that is not there. */
  missingBlob(blobId: string): void {
    if (!this.#missingBlobs.includes(blobId)) this.#missingBlobs.push(blobId);
  }

  /** Runs `fn`; an `invalidProperties` SetError it throws is recorded and `fallback` returned instead. */
  check<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      return this.#absorb(err, fallback);
    }
  }

  /** `check` for asynchronous work. */
  async checkAsync<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      return this.#absorb(err, fallback);
    }
  }

  #absorb<T>(err: unknown, fallback: T): T {
    if (!(err instanceof SetErrorException) || err.error.type !== 'invalidProperties') throw err;
    this.add(err.error.properties ?? [], err.error.description);
    return fallback;
  }

  /** Throws the collected problems: `invalidProperties` first, else `blobNotFound`. */
  throwIfAny(): void {
    if (this.#properties.length) {
      const description = this.#descriptions.length ? [...new Set(this.#descriptions)].join('; ').slice(0, 1000) : undefined;
      throw invalidProperties([...new Set(this.#properties)], description);
    }
    if (this.#missingBlobs.length) {
      throw setError('blobNotFound', `blobs not found: ${this.#missingBlobs.join(', ').slice(0, 500)}`, {
        notFound: [...this.#missingBlobs],
      });
    }
  }
}
