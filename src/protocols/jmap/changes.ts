import type { ObjectChanges } from '../../mail/types.ts';
import type { Args, JsonObject } from './args.ts';
import type { MethodContext } from './context.ts';
import type { MethodDefinition } from './dispatch.ts';
import { type IdKind, toId } from './ids.ts';
import { maxChanges } from './standard.ts';
import { type PushType, parseState, stateString, typeState } from './state.ts';

/** The most changes one /changes call returns, whatever `maxChanges` asks for. */
const MAX_CHANGES = 5000;

/** The `sinceState` and `maxChanges` of a /changes call for `type` (RFC 8620 §5.2). */
export async function changesArguments(
  args: Args,
  ctx: MethodContext,
  accountId: number,
  type: PushType,
): Promise<{ since: number; max: number }> {
  const current = await typeState(ctx.services, accountId, type);
  return { since: parseState(args.requiredString('sinceState'), current), max: maxChanges(args, MAX_CHANGES) };
}

/** The standard /changes response (RFC 8620 §5.2) with the log's numeric ids written as `kind` Ids. */
export function changesResponse(
  ctx: MethodContext,
  kind: IdKind,
  since: number,
  c: Pick<ObjectChanges, 'newState' | 'hasMoreChanges' | 'created' | 'updated' | 'destroyed'>,
): JsonObject {
  return {
    accountId: ctx.accountId,
    oldState: stateString(since),
    newState: stateString(c.newState),
    hasMoreChanges: c.hasMoreChanges,
    created: c.created.map((id) => toId(kind, id)),
    updated: c.updated.map((id) => toId(kind, id)),
    destroyed: c.destroyed.map((id) => toId(kind, id)),
  };
}

/** A /changes method (RFC 8620 §5.2) read straight from the shared change log of one type. */
export function changeLogMethod(type: PushType, kind: IdKind, capability: string): MethodDefinition {
  return {
    capability,
    async run(args, ctx) {
      const accountId = ctx.account(args, capability);
      const { since, max } = await changesArguments(args, ctx, accountId, type);
      return changesResponse(ctx, kind, since, await ctx.services.mail.changesSince(accountId, type, since, max));
    },
  };
}
