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
