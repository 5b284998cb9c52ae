import type { Grant } from '../../../mail/sharing/grants.ts';
import { jmapRights, rightsFromJmap } from '../../../mail/sharing/rights.ts';
import type { Mailbox } from '../../../mail/types.ts';
import type { JsonObject } from '../args.ts';
import type { MethodContext } from '../context.ts';
import { invalidProperties } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { fromId, toId } from '../ids.ts';

/** A mailbox's `shareWith` (RFC 9670 §4): principal id → MailboxRights, null when shared with nobody. */
export function shareWithValue(grants: readonly Grant[] | undefined): JsonObject | null {
  if (!grants?.length) return null;
  return Object.fromEntries(grants.map((g) => [toId('principal', g.grantee.id), jmapRights(g.rights) as unknown as JsonObject]));
}

/** Splits `shareWith` and `shareWith/<id>` out of a Mailbox/set patch (RFC 8620 §5.3 PatchObject). */
export function splitShareWith(patch: JsonObject): { rest: JsonObject; share: JsonObject | null } {
  const rest: JsonObject = {};
  const share: JsonObject = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === 'shareWith' || k.startsWith('shareWith/')) share[k] = v;
    else rest[k] = v;
  }
  return { rest, share: Object.keys(share).length ? share : null };
}

/**
 * Applies a `shareWith` patch to an owned mailbox (RFC 9670 §4 `shareWith`, settable by the owner):
 * each principal's MailboxRights become IMAP ACL rights (RFC 8621 §2), null removes the grant;
 * `p` and `a`, which JMAP cannot show, are kept. Unknown principals or bad rights are
 * `invalidProperties`.
 */
export async function applyShareWith(ctx: MethodContext, mailbox: Mailbox, share: JsonObject): Promise<void> {
  const { sharing } = ctx.services.mail;
  const grants = await sharing.grantsOn(mailbox.id);
  const current = new Map(grants.map((g) => [g.grantee.id, g.rights]));
  const wanted = new Map<number, JsonValue>();
  if (Object.hasOwn(share, 'shareWith')) {
    const all = share['shareWith'];
    if (all !== null && (typeof all !== 'object' || Array.isArray(all))) throw invalidProperties(['shareWith']);
    for (const id of current.keys()) wanted.set(id, null);
    for (const [p, r] of Object.entries(all ?? {})) wanted.set(fromId('principal', p) ?? -1, r);
  }
  for (const [k, v] of Object.entries(share)) if (k !== 'shareWith') wanted.set(fromId('principal', k.slice('shareWith/'.length)) ?? -1, v);
  const actor = await sharing.account(ctx.caller.account.id);
  for (const [principal, value] of wanted) {
    const grantee = principal > 0 ? await sharing.account(principal) : undefined;
    if (!grantee || !actor) throw invalidProperties(['shareWith'], 'no such principal');
    const rights = value === null ? '' : rightsFromJmap(value, current.get(principal) ?? '');
    if (rights === null) throw invalidProperties(['shareWith'], 'rights are an object of MailboxRights booleans');
    try {
      await sharing.setRights(actor, mailbox, grantee, rights);
    } catch (err) {
      throw invalidProperties(['shareWith'], (err as Error).message);
    }
  }
}
