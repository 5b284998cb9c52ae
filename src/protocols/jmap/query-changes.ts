import type { JsonObject } from './args.ts';
import { MethodError } from './errors.ts';
import { stateString } from './state.ts';

/** What changed among the objects of a type between the old query state and now. */
export interface TouchedObjects {
  /** Objects created since the old state: never in the old results. */
  readonly created: ReadonlySet<string>;
  /** Objects updated or destroyed since the old state (and any whose membership may have moved). */
  readonly changed: ReadonlySet<string>;
}

/**
 * The /queryChanges answer (RFC 8620 §5.6) from the current full result and the objects touched
 * since the old state: every changed object is `removed` (extra removals are allowed) and every
 * created or changed object still in the result is `added` at its index, so a client applying
 * the diff to its old list gets the new one.
 */
export function queryChangesResponse(input: {
  readonly accountId: string;
  readonly oldState: number;
  readonly newState: number;
  readonly currentIds: readonly string[];
  readonly touched: TouchedObjects;
  readonly maxChanges: number | undefined;
  readonly calculateTotal: boolean;
}): JsonObject {
  const removed = [...input.touched.changed];
  const added: JsonObject[] = [];
  input.currentIds.forEach((id, index) => {
    if (input.touched.changed.has(id) || input.touched.created.has(id)) added.push({ id, index });
  });
  if (input.maxChanges !== undefined && removed.length + added.length > input.maxChanges) {
    throw new MethodError('tooManyChanges', `more than ${input.maxChanges} changes`);
  }
  return {
    accountId: input.accountId,
    oldQueryState: stateString(input.oldState),
    newQueryState: stateString(input.newState),
    removed,
    added,
    ...(input.calculateTotal ? { total: input.currentIds.length } : {}),
  };
}
