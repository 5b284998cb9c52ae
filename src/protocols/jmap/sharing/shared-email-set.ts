import { hasRights } from '../../../mail/sharing/rights.ts';
import { Args, type JsonObject } from '../args.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { fromId } from '../ids.ts';
import { onShared, type SharedAccess } from './shared-mail.ts';

/** The right changing one keyword needs (RFC 8621 §2 maySetSeen / maySetKeywords; RFC 4314 §4). */
function keywordRight(keyword: string): string {
  return keyword.toLowerCase() === '$seen' ? 's' : keyword.toLowerCase() === '$deleted' ? 't' : 'w';
}

/** Mailbox ids (numbers) of a JMAP `mailboxIds` object. */
function boxIds(value: unknown): number[] {
  return value && typeof value === 'object' ? Object.keys(value).map((id) => fromId('mailbox', id) ?? 0) : [];
}

/** Why `access` does not allow a change, or null when it does. */
type Check = string | null;

/** A create needs `i` on every mailbox and the rights for its keywords there (RFC 8621 §2 mayAddItems). */
export function checkCreate(access: SharedAccess, spec: JsonObject): Check {
  const boxes = boxIds(spec['mailboxIds']);
  const keywords = Object.keys((spec['keywords'] as JsonObject | undefined) ?? {});
  for (const b of boxes) {
    const r = access.rights.get(b) ?? '';
    if (!r.includes('i')) return 'adding to that mailbox needs mayAddItems';
    for (const k of keywords)
      if (!r.includes(keywordRight(k))) return `setting ${k} needs ${keywordRight(k) === 's' ? 'maySetSeen' : 'maySetKeywords'}`;
  }
  return null;
}

/**
 * An update of an Email in `boxes`: keywords need the right in one of its mailboxes (s for
 * `$seen`, w for others); a mailbox added needs `i`, one removed `t` and `e` (RFC 8621 §2).
 */
function checkUpdate(access: SharedAccess, boxes: readonly number[], keywords: readonly string[], patch: JsonObject): Check {
  const rights = boxes.map((b) => access.rights.get(b) ?? '');
  if (!rights.some((r) => hasRights(r, 'lr'))) return 'no such Email';
  const anyHas = (right: string) => rights.some((r) => r.includes(right));
  for (const [path, value] of Object.entries(patch)) {
    if (path === 'keywords') {
      const next = new Set(Object.keys((value as JsonObject | null) ?? {}).map((k) => k.toLowerCase()));
      const changed = [...keywords.filter((k) => !next.has(k)), ...[...next].filter((k) => !keywords.includes(k))];
      for (const k of changed) if (!anyHas(keywordRight(k))) return `changing ${k} is not allowed here`;
    } else if (path.startsWith('keywords/')) {
      if (!anyHas(keywordRight(path.slice(9)))) return `changing ${path.slice(9)} is not allowed here`;
    } else if (path === 'mailboxIds' || path.startsWith('mailboxIds/')) {
      const after =
        path === 'mailboxIds'
          ? boxIds(value)
          : value
            ? [...boxes, fromId('mailbox', path.slice(11)) ?? 0]
            : boxes.filter((b) => b !== fromId('mailbox', path.slice(11)));
      for (const b of after)
        if (!boxes.includes(b) && !(access.rights.get(b) ?? '').includes('i')) return 'adding to that mailbox needs mayAddItems';
      for (const b of boxes)
        if (!after.includes(b) && !hasRights(access.rights.get(b) ?? '', 'te')) return 'removing from that mailbox needs mayRemoveItems';
    }
  }
  return null;
}

/**
 * Email/set on a shared account (RFC 8621 §4.6, RFC 9670): each create, update and destroy is
 * checked against the caller's rights first; refused ones get `forbidden` (a destroy needs `t`
 * and `e` on every mailbox holding the Email, and all of them shared), the rest go to Email/set.
 */
export function sharedEmailSet(def: MethodDefinition): MethodDefinition {
  return onShared(def, async (args, ctx: MethodContext, access) => {
    const create = { ...((args.raw['create'] as JsonObject | null) ?? {}) };
    const update = { ...((args.raw['update'] as JsonObject | null) ?? {}) };
    const destroy = [...((args.raw['destroy'] as string[] | null) ?? [])];
    const refused = { notCreated: {} as JsonObject, notUpdated: {} as JsonObject, notDestroyed: {} as JsonObject };
    const forbid = (description: string) => ({ type: 'forbidden', description });
    for (const [cid, spec] of Object.entries(create)) {
      const why = checkCreate(access, (spec ?? {}) as JsonObject);
      if (why) {
        refused.notCreated[cid] = forbid(why);
        delete create[cid];
      }
    }
    const ids = [...Object.keys(update), ...destroy].flatMap((id) => fromId('email', id) ?? []);
    const boxes = await ctx.services.mail.mailboxIdsOf(ids);
    const messages = new Map((await ctx.services.mail.getMessages(access.ownerId, ids, access.readerId)).map((m) => [m.id, m]));
    for (const [id, patch] of Object.entries(update)) {
      const n = fromId('email', id) ?? 0;
      const why = messages.has(n) ? checkUpdate(access, boxes.get(n) ?? [], messages.get(n)!.keywords, (patch ?? {}) as JsonObject) : null;
      if (why) {
        refused.notUpdated[id] = why === 'no such Email' ? { type: 'notFound' } : forbid(why);
        delete update[id];
      }
    }
    const allowed = destroy.filter((id) => {
      const held = boxes.get(fromId('email', id) ?? 0) ?? [];
      if (held.every((b) => hasRights(access.rights.get(b) ?? '', 'te'))) return true;
      refused.notDestroyed[id] = held.some((b) => hasRights(access.rights.get(b) ?? '', 'lr'))
        ? forbid('destroying needs mayRemoveItems in every mailbox holding the Email')
        : { type: 'notFound' };
      return false;
    });
    const answer = await def.run(new Args({ ...args.raw, create, update, destroy: allowed }), ctx);
    const merge = (key: keyof typeof refused) => {
      const all = { ...((answer[key] as JsonObject | null) ?? {}), ...refused[key] };
      return Object.keys(all).length ? all : null;
    };
    return { ...answer, notCreated: merge('notCreated'), notUpdated: merge('notUpdated'), notDestroyed: merge('notDestroyed') };
  });
}
