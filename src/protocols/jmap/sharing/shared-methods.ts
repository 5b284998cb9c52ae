import { hasRights, jmapRights } from '../../../mail/sharing/rights.ts';
import { Args, isObject, type JsonObject } from '../args.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { fromId } from '../ids.ts';
import { mailboxObjects } from '../mailbox/object.ts';
import { applyPatch } from '../patch.ts';
import { changesSeen, onShared, readable, type SharedAccess } from './shared-mail.ts';

/**
 * `def` on the caller's own account and, unchanged, on an account shared with them (RFC 9670
 * §1.4): for methods that see a shared account through `ctx.shared` themselves (Mailbox/query
 * and /queryChanges through the shared mailbox view, Blob/*, Email/import and Email/copy through
 * src/protocols/jmap/sharing/shared-blobs.ts and the create check of shared-email-set.ts).
 */
export function sharedAs(def: MethodDefinition): MethodDefinition {
  return onShared(def, (args, ctx) => def.run(args, ctx));
}

/** The Email ids (numbers) among `ids` the caller may read in the shared account. */
async function readableIds(ctx: MethodContext, access: SharedAccess, ids: readonly string[]): Promise<Set<string>> {
  const ok = await readable(
    ctx,
    access,
    ids.flatMap((id) => fromId('email', id) ?? []),
  );
  return new Set(ids.filter((id) => ok.has(fromId('email', id) ?? 0)));
}

/** Thread/get on a shared account: only the readable Emails of a thread; a thread with none is not found. */
export function sharedThreadGet(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    const answer = await def.run(args, ctx);
    const list: JsonObject[] = [];
    const notFound = [...(answer['notFound'] as string[])];
    const all = (answer['list'] as JsonObject[]).flatMap((t) => (t['emailIds'] as string[] | undefined) ?? []);
    const seen = await readableIds(ctx, access, all);
    // A thread is visible through its readable Emails; its id alone says nothing (`properties: ["id"]`).
    const withoutIds = (answer['list'] as JsonObject[]).filter((t) => t['emailIds'] === undefined).map((t) => t['id'] as string);
    const visible = await readableThreads(ctx, access, withoutIds);
    for (const t of answer['list'] as JsonObject[]) {
      const emailIds = t['emailIds'] as string[] | undefined;
      const mine = emailIds?.filter((id) => seen.has(id));
      if (mine ? mine.length : visible.has(t['id'] as string)) list.push(mine ? { ...t, emailIds: mine } : t);
      else notFound.push(t['id'] as string);
    }
    return { ...answer, list, notFound };
  });
}

/** The Thread ids among `threadIds` with at least one Email the caller may read (two queries in all). */
async function readableThreads(ctx: MethodContext, access: SharedAccess, threadIds: readonly string[]): Promise<Set<string>> {
  const numbers = new Map<string, number>();
  for (const id of threadIds) {
    const n = fromId('thread', id);
    if (n !== undefined) numbers.set(id, n);
  }
  if (!numbers.size) return new Set();
  const members = await ctx.services.mail.index.threadMembers(access.ownerId, [...new Set(numbers.values())]);
  const ok = await readable(ctx, access, [...members.values()].flat());
  return new Set([...numbers].filter(([, n]) => (members.get(n) ?? []).some((m) => ok.has(m))).map(([id]) => id));
}

/** Thread/changes on a shared account: threads without a readable Email count as destroyed. */
export function sharedThreadChanges(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => changesSeen(await def.run(args, ctx), (ids) => readableThreads(ctx, access, ids)));
}

/** SearchSnippet/get on a shared account: snippets of readable Emails only; the rest are not found. */
export function sharedSearchSnippets(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    const asked = Array.isArray(args.raw['emailIds']) ? (args.raw['emailIds'] as unknown[]).filter((id) => typeof id === 'string') : null;
    if (!asked) return def.run(args, ctx);
    const ok = await readableIds(ctx, access, asked as string[]);
    const answer = await def.run(new Args({ ...args.raw, emailIds: (asked as string[]).filter((id) => ok.has(id)) }), ctx);
    const hidden = (asked as string[]).filter((id) => !ok.has(id));
    const notFound = [...((answer['notFound'] as string[] | null) ?? []), ...hidden];
    return { ...answer, notFound: notFound.length ? notFound : null };
  });
}

const forbid = (description: string) => ({ type: 'forbidden', description });

/**
 * Mailbox/set on a shared account (RFC 8621 §2.5, RFC 9670 §1.4), within the grant as `myRights`
 * shows it: a child needs mayCreateChild (`k`) on its parent (no top-level mailboxes) and gets
 * the parent's grants; renaming, moving, role and order need mayRename (`x`), a new parent `k`;
 * destroying needs mayDelete (`x`, with onDestroyRemoveEmails also mayRemoveItems, `te`);
 * `shareWith` needs `a`; subscriptions stay the owner's. Mailboxes the caller cannot see are
 * `notFound`; what the grant does not allow is `forbidden`.
 */
export function sharedMailboxSet(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx, access) => {
    const rightsOf = (id: unknown) =>
      typeof id === 'string' ? (access.rights.get(fromId('mailbox', ctx.resolveId(id) ?? id) ?? 0) ?? '') : '';
    const create = { ...((args.raw['create'] as JsonObject | null) ?? {}) };
    const update = { ...((args.raw['update'] as JsonObject | null) ?? {}) };
    const destroy = [...((args.raw['destroy'] as string[] | null) ?? [])];
    const removeEmails = args.raw['onDestroyRemoveEmails'] === true;
    const refused = { notCreated: {} as JsonObject, notUpdated: {} as JsonObject, notDestroyed: {} as JsonObject };
    const parents = new Map<string, string>();
    for (const [cid, spec] of Object.entries(create)) {
      const parent = isObject(spec) ? spec['parentId'] : undefined;
      const local = typeof parent === 'string' && parent.startsWith('#') && Object.hasOwn(create, parent.slice(1));
      if (typeof parent !== 'string' || (!local && !hasRights(rightsOf(parent), 'k'))) {
        refused.notCreated[cid] = forbid(
          typeof parent === 'string' ? 'creating a child here needs mayCreateChild' : 'no top-level mailboxes in a shared account',
        );
        delete create[cid];
      } else parents.set(cid, parent);
    }
    const current = await mailboxObjects(ctx.services, access.ownerId, false, access);
    for (const [rawId, patch] of Object.entries(update)) {
      const id = ctx.resolveId(rawId) ?? rawId;
      const was = current.get(id);
      if (!was || !isObject(patch)) {
        if (!was) {
          refused.notUpdated[rawId] = { type: 'notFound' };
          delete update[rawId];
        }
        continue;
      }
      const why = mailboxUpdateRefusal(was, patch, rightsOf(id), (p) => rightsOf(p));
      if (why) {
        refused.notUpdated[rawId] = forbid(why);
        delete update[rawId];
      } else if (patch['shareWith'] === null) {
        // The shared view shows shareWith as null: sent back unchanged, it changes nothing.
        const { shareWith: _unchanged, ...rest } = patch;
        update[rawId] = rest;
      }
    }
    const allowed = destroy.filter((rawId) => {
      const id = ctx.resolveId(rawId) ?? rawId;
      const r = rightsOf(id);
      if (!current.has(id)) refused.notDestroyed[rawId] = { type: 'notFound' };
      else if (!hasRights(r, removeEmails ? 'xte' : 'x'))
        refused.notDestroyed[rawId] = forbid(removeEmails ? 'needs mayDelete and mayRemoveItems' : 'needs mayDelete');
      else return true;
      return false;
    });
    const answer = await def.run(new Args({ ...args.raw, create, update, destroy: allowed }), ctx);
    const created = (answer['created'] as JsonObject | null) ?? {};
    for (const [cid, made] of Object.entries(created)) {
      const rights = await inheritGrants(ctx, access, parents.get(cid)!, (made as JsonObject)['id'] as string);
      created[cid] = { ...(made as JsonObject), myRights: jmapRights(rights) as unknown as JsonObject };
    }
    const merge = (key: keyof typeof refused) => {
      const all = { ...((answer[key] as JsonObject | null) ?? {}), ...refused[key] };
      return Object.keys(all).length ? all : null;
    };
    return {
      ...answer,
      created: Object.keys(created).length ? created : null,
      notCreated: merge('notCreated'),
      notUpdated: merge('notUpdated'),
      notDestroyed: merge('notDestroyed'),
    };
  });
}

/** Why the grant does not allow `patch` on a mailbox shown as `was`, or null. */
function mailboxUpdateRefusal(was: JsonObject, patch: JsonObject, rights: string, rightsOf: (id: unknown) => string): string | null {
  const { shareWith, ...rest } = patch;
  const share = Object.keys(patch).some((p) => (p === 'shareWith' ? shareWith !== null : p.startsWith('shareWith/')));
  if (share && !rights.includes('a')) return 'changing shareWith needs the a right';
  const own = Object.fromEntries(Object.entries(rest).filter(([p]) => !p.startsWith('shareWith/')));
  const next = applyPatch(was, own);
  const changed = (p: string) => JSON.stringify(next[p] ?? null) !== JSON.stringify(was[p] ?? null);
  if (changed('isSubscribed')) return "the subscription of a shared mailbox is the owner's";
  if (['name', 'parentId', 'role', 'sortOrder'].some(changed) && !rights.includes('x')) return 'needs mayRename';
  if (changed('parentId') && (next['parentId'] === null || !rightsOf(next['parentId']).includes('k')))
    return 'moving here needs mayCreateChild on the new parent';
  return null;
}

/**
 * A mailbox a grantee made in a shared account gets its parent's grants (as IMAP servers give a
 * new mailbox its parent's ACL, RFC 4314 §5.1), so the grantee and the others keep seeing it.
 * Returns the caller's rights on it.
 */
async function inheritGrants(ctx: MethodContext, access: SharedAccess, parentId: string, childId: string): Promise<string> {
  const sharing = ctx.services.mail.sharing;
  const parent = fromId('mailbox', ctx.resolveId(parentId) ?? parentId);
  const child = fromId('mailbox', childId);
  const owner = await sharing.account(access.ownerId);
  const box = child === undefined ? undefined : await ctx.services.mail.getMailboxById(access.ownerId, child);
  if (parent === undefined || !owner || !box) return '';
  let mine = '';
  for (const g of await sharing.grantsOn(parent)) {
    await sharing.setRights(owner, box, g.grantee, g.rights);
    if (g.grantee.id === ctx.caller.account.id) mine = g.rights;
  }
  (access.rights as Map<number, string>).set(box.id, mine);
  return mine;
}
