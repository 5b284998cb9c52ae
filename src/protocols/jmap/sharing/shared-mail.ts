import { hasRights, jmapRights } from '../../../mail/sharing/rights.ts';
import { Args, type JsonObject } from '../args.ts';
import type { JmapServices, MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { MethodError } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { fromId, toId } from '../ids.ts';

/** The caller's rights per mailbox id in a shared account (RFC 4314 letters). */
export interface SharedAccess {
  readonly ownerId: number;
  /** The caller: whose own `$seen` the shared Emails show and set (RFC 4314 §4 per-user \Seen). */
  readonly readerId: number;
  readonly rights: ReadonlyMap<number, string>;
}

/** The caller's access to account `n` when it shared mailboxes with them, else undefined. */
export function sharedAccessTo(ctx: MethodContext, n: number | undefined): Promise<SharedAccess | undefined> {
  return sharedAccessOf(ctx.services, ctx.caller.account.id, n);
}

/** `callerId`'s access to account `n` when it shared mailboxes with them, else undefined (also for the HTTP routes). */
export async function sharedAccessOf(services: JmapServices, callerId: number, n: number | undefined): Promise<SharedAccess | undefined> {
  if (n === undefined || n === callerId) return undefined;
  const rights = await services.mail.sharing.sharedMailboxes(callerId, n);
  return rights.size ? { ownerId: n, readerId: callerId, rights } : undefined;
}

/** The caller's access when `args.accountId` names an account that shared mailboxes with them. */
function sharedAccess(args: Args, ctx: MethodContext): Promise<SharedAccess | undefined> {
  return sharedAccessTo(ctx, fromId('account', args.raw['accountId']));
}

/**
 * `def` for the caller's own account; on an account shared with the caller (RFC 9670 §1.4),
 * `shared` runs instead, with that account allowed as `accountId`.
 */
export function onShared(
  def: MethodDefinition,
  shared: (args: Args, ctx: MethodContext, access: SharedAccess) => Promise<JsonObject>,
): MethodDefinition {
  return {
    capability: def.capability,
    async run(args, ctx) {
      const access = await sharedAccess(args, ctx);
      if (!access) return def.run(args, ctx);
      return ctx.asShared(access, () => shared(args, ctx, access));
    },
  };
}

/** Mailboxes the caller may see (`l`) or read (`r`; RFC 8621 §2 mayReadItems is `lr`). */
export function mailboxesWith(access: SharedAccess, needed: string): Set<number> {
  return new Set([...access.rights].filter(([, r]) => hasRights(r, needed)).map(([id]) => id));
}

/** The message ids among `ids` held by at least one mailbox the caller may read. */
export async function readable(ctx: MethodContext, access: SharedAccess, ids: readonly number[]): Promise<Set<number>> {
  const boxes = await ctx.services.mail.mailboxIdsOf(ids);
  const read = mailboxesWith(access, 'lr');
  return new Set(ids.filter((id) => (boxes.get(id) ?? []).some((b) => read.has(b))));
}

/** A /changes answer with what the caller cannot see moved to `destroyed` (it may have left a shared mailbox). */
export async function changesSeen(answer: JsonObject, visible: (ids: string[]) => Promise<Set<string>>): Promise<JsonObject> {
  const created = answer['created'] as string[];
  const updated = answer['updated'] as string[];
  const seen = await visible([...created, ...updated]);
  return {
    ...answer,
    created: created.filter((id) => seen.has(id)),
    updated: updated.filter((id) => seen.has(id)),
    destroyed: [...(answer['destroyed'] as string[]), ...[...created, ...updated].filter((id) => !seen.has(id))],
  };
}

/** Mailbox/get on a shared account: the mailboxes with `l`, `myRights` from the grant, no `shareWith`. */
export function sharedMailboxGet(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    const answer = await def.run(args, ctx);
    const visible = mailboxesWith(access, 'l');
    const list: JsonObject[] = [];
    const notFound = [...(answer['notFound'] as string[])];
    for (const o of answer['list'] as JsonObject[]) {
      const id = fromId('mailbox', o['id'])!;
      if (!visible.has(id)) {
        if (args.raw['ids']) notFound.push(o['id'] as string);
        continue;
      }
      const parent = fromId('mailbox', o['parentId']);
      list.push({
        ...o,
        ...(o['parentId'] !== undefined
          ? { parentId: parent !== undefined && visible.has(parent) ? (o['parentId'] as string) : null }
          : {}),
        ...(o['myRights'] !== undefined ? { myRights: jmapRights(access.rights.get(id)!) as unknown as JsonObject } : {}),
        ...(o['shareWith'] !== undefined ? { shareWith: null } : {}),
      });
    }
    return { ...answer, list, notFound };
  });
}

/** Mailbox/changes on a shared account: mailboxes no longer visible count as destroyed. */
export function sharedMailboxChanges(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    const visible = mailboxesWith(access, 'l');
    return changesSeen(await def.run(args, ctx), async (ids) => new Set(ids.filter((id) => visible.has(fromId('mailbox', id) ?? 0))));
  });
}

/** Email/get on a shared account: only Emails in a readable mailbox, `mailboxIds` limited to those. */
export function sharedEmailGet(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    let ids = args.raw['ids'] as string[] | null | undefined;
    if (!Array.isArray(ids)) ids = await allReadable(ctx, access);
    const numeric = ids.flatMap((id) => fromId('email', id) ?? []);
    const ok = await readable(ctx, access, numeric);
    const asked = ids.filter((id) => ok.has(fromId('email', id) ?? 0));
    const answer = await def.run(new Args({ ...args.raw, ids: asked }), ctx);
    const read = mailboxesWith(access, 'lr');
    const list = (answer['list'] as JsonObject[]).map((o) => {
      const boxes = o['mailboxIds'] as Record<string, boolean> | undefined;
      if (!boxes) return o;
      return { ...o, mailboxIds: Object.fromEntries(Object.entries(boxes).filter(([id]) => read.has(fromId('mailbox', id) ?? 0))) };
    });
    return { ...answer, list, notFound: [...(answer['notFound'] as string[]), ...ids.filter((id) => !asked.includes(id))] };
  });
}

/** Every Email id in the readable mailboxes, within `maxObjectsInGet` (RFC 8620 §5.1 `ids: null`). */
async function allReadable(ctx: MethodContext, access: SharedAccess): Promise<string[]> {
  const ids = new Set<number>();
  for (const box of mailboxesWith(access, 'lr')) for (const e of await ctx.services.mail.listEntries(box)) ids.add(e.messageId);
  if (ids.size > ctx.services.limits.maxObjectsInGet)
    throw new MethodError('requestTooLarge', 'too many Emails for ids: null; query first', { limit: 'maxObjectsInGet' });
  return [...ids].sort((a, b) => a - b).map((id) => toId('email', id));
}

/** Narrows an Email filter to the readable mailboxes (RFC 8621 §4.4.1 `inMailbox`, joined with AND). */
function readableFilter(filter: JsonValue | undefined, access: SharedAccess): JsonObject {
  const within: JsonObject = {
    operator: 'OR',
    conditions: [...mailboxesWith(access, 'lr')].map((id) => ({ inMailbox: toId('mailbox', id) })),
  };
  return filter === undefined || filter === null ? within : { operator: 'AND', conditions: [filter, within] };
}

/** Email/query and Email/queryChanges on a shared account: only Emails in readable mailboxes. */
export function sharedEmailQuery(def: MethodDefinition): MethodDefinition {
  return onShared(def, (args, ctx, access) => def.run(new Args({ ...args.raw, filter: readableFilter(args.raw['filter'], access) }), ctx));
}

/** Email/changes on a shared account: Emails no longer readable count as destroyed. */
export function sharedEmailChanges(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) =>
    changesSeen(await def.run(args, ctx), async (ids) => {
      const ok = await readable(
        ctx,
        access,
        ids.flatMap((id) => fromId('email', id) ?? []),
      );
      return new Set(ids.filter((id) => ok.has(fromId('email', id) ?? 0)));
    }),
  );
}
