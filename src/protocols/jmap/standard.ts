import type { Args, JsonObject } from './args.ts';
import type { MethodContext } from './context.ts';
import { invalidArguments, MethodError } from './errors.ts';
import type { JsonValue } from './i-json.ts';
import { stateString } from './state.ts';

/**
 * Argument handling shared by the standard methods of RFC 8620 §5: /get ids and properties,
 * /changes maxChanges, /set size limits, and /query windows.
 */

/** The `ids` of a /get (null: all), with creation ids resolved; over `maxObjectsInGet` is `requestTooLarge` (§5.1). */
export function getIds(args: Args, ctx: MethodContext): string[] | null {
  const ids = args.raw['ids'];
  if (ids === undefined || ids === null) return null;
  if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) throw invalidArguments('ids must be an array of Ids or null');
  if (ids.length > ctx.services.limits.maxObjectsInGet) {
    throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInGet} ids per /get`, { limit: 'maxObjectsInGet' });
  }
  return [...new Set(ids as string[])].map((id) => ctx.resolveId(id) ?? id);
}

/**
 * The `properties` of a /get (§5.1): null means `defaults`; an unknown property is
 * `invalidArguments`; `id` is always returned.
 */
export function getProperties(
  args: Args,
  known: ReadonlySet<string>,
  defaults: readonly string[],
  isExtra?: (p: string) => boolean,
): string[] {
  const props = args.strings('properties');
  if (!props) return [...defaults];
  for (const p of props) if (!known.has(p) && !isExtra?.(p)) throw invalidArguments(`unknown property ${JSON.stringify(p.slice(0, 100))}`);
  return props.includes('id') ? props : ['id', ...props];
}

/** `maxChanges` of /changes and /queryChanges: a positive integer or null (§5.2). */
export function maxChanges(args: Args, fallback: number): number {
  const n = args.uint('maxChanges');
  if (n === undefined) return fallback;
  if (n === 0) throw invalidArguments('maxChanges must be greater than 0');
  return Math.min(n, fallback);
}

/** The create/update/destroy arguments of a /set with the `maxObjectsInSet` check (§5.3). */
export function setArguments(args: Args, ctx: MethodContext): { create: JsonObject; update: JsonObject; destroy: string[] } {
  const create = args.object('create') ?? {};
  const update = args.object('update') ?? {};
  const destroy = args.strings('destroy') ?? [];
  const count = Object.keys(create).length + Object.keys(update).length + destroy.length;
  if (count > ctx.services.limits.maxObjectsInSet) {
    throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} objects per /set`, {
      limit: 'maxObjectsInSet',
    });
  }
  return { create, update, destroy };
}

/** Picks the requested properties of an object (the /get `properties` filter). */
export function pick(object: Readonly<Record<string, JsonValue>>, properties: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const p of properties) if (object[p] !== undefined) out[p] = object[p]!;
  return out;
}

/**
 * The /get response (RFC 8620 §5.1): for each of `ids` in order, `find(id)` with the requested
 * `properties` in `list`, or the id in `notFound`; `state` is already a state string.
 */
export async function getResponse(
  ctx: MethodContext,
  state: string,
  ids: readonly string[],
  properties: readonly string[],
  find: (id: string) => JsonObject | undefined | Promise<JsonObject | undefined>,
): Promise<JsonObject> {
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids) {
    const object = await find(id);
    if (object) list.push(pick(object, properties));
    else notFound.push(id);
  }
  return { accountId: ctx.accountId, state, list, notFound };
}

/** A /query window (§5.5): `position` (may be negative), `anchor` + `anchorOffset`, `limit`. */
export interface QueryWindow {
  readonly position: number;
  readonly anchor: string | undefined;
  readonly anchorOffset: number;
  readonly limit: number | undefined;
  readonly calculateTotal: boolean;
}

/** Reads the /query window arguments. */
export function queryWindow(args: Args): QueryWindow {
  const limit = args.uint('limit');
  return {
    position: args.int('position', 0),
    anchor: args.id('anchor'),
    anchorOffset: args.int('anchorOffset', 0),
    limit,
    calculateTotal: args.boolean('calculateTotal', false),
  };
}

/** Applies a /query window to the full sorted result (§5.5); a missing anchor is `anchorNotFound`. */
export function applyWindow(
  ids: readonly string[],
  window: QueryWindow,
  maxLimit: number,
): { position: number; ids: string[]; limit?: number } {
  let start: number;
  if (window.anchor !== undefined) {
    const at = ids.indexOf(window.anchor);
    if (at < 0) throw new MethodError('anchorNotFound');
    start = Math.max(0, at + window.anchorOffset);
  } else {
    start = window.position < 0 ? Math.max(0, ids.length + window.position) : window.position;
  }
  const limit = Math.min(window.limit ?? maxLimit, maxLimit);
  const slice = start >= ids.length ? [] : ids.slice(start, start + limit);
  return {
    position: Math.min(start, ids.length),
    ids: slice,
    ...(window.limit === undefined || window.limit > maxLimit ? { limit } : {}),
  };
}

/** What a /set did (RFC 8620 §5.3); any part left out or empty is answered as null. */
export interface SetOutcome {
  readonly created?: Readonly<Record<string, unknown>>;
  readonly updated?: Readonly<Record<string, unknown>>;
  readonly destroyed?: readonly string[];
  readonly notCreated?: Readonly<Record<string, unknown>>;
  readonly notUpdated?: Readonly<Record<string, unknown>>;
  readonly notDestroyed?: Readonly<Record<string, unknown>>;
}

/** The /set response (RFC 8620 §5.3): the states and each map or list of `r`, null when empty. */
export function setResponse(ctx: MethodContext, oldState: number, newState: number, r: SetOutcome): JsonObject {
  const map = (o: Readonly<Record<string, unknown>> | undefined) => (o && Object.keys(o).length ? (o as JsonObject) : null);
  return {
    accountId: ctx.accountId,
    oldState: stateString(oldState),
    newState: stateString(newState),
    created: map(r.created),
    updated: map(r.updated),
    destroyed: r.destroyed?.length ? [...r.destroyed] : null,
    notCreated: map(r.notCreated),
    notUpdated: map(r.notUpdated),
    notDestroyed: map(r.notDestroyed),
  };
}

/** The /query response (RFC 8620 §5.5) for a result sorted in full: the window of `ids` and, if asked, the total. */
export function windowedQueryResponse(
  ctx: MethodContext,
  queryState: number,
  ids: readonly string[],
  window: QueryWindow,
  maxLimit: number,
): JsonObject {
  const page = applyWindow(ids, window, maxLimit);
  return {
    accountId: ctx.accountId,
    queryState: stateString(queryState),
    canCalculateChanges: true,
    position: page.position,
    ids: page.ids,
    ...(window.calculateTotal ? { total: ids.length } : {}),
    ...(page.limit !== undefined ? { limit: page.limit } : {}),
  };
}
