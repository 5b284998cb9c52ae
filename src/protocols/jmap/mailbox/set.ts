import { isFingerpostError } from '../../../core/errors.ts';
import type { Mailbox } from '../../../mail/types.ts';
import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES, MAX_MAILBOX_DEPTH, MAX_MAILBOX_NAME } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { applyShareWith, splitShareWith } from '../sharing/share-with.ts';
import { invalidProperties, type SetError, SetErrorException, setError } from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { applyPatch } from '../patch.ts';
import { changedFixedProperties } from '../server-set.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkIfInState, typeState } from '../state.ts';
import { COUNT_PROPERTIES, fullName, mailboxObjects, ROLES } from './object.ts';

const SERVER_SET = new Set(['id', 'myRights', 'shareWith', ...COUNT_PROPERTIES]);
const SETTABLE = new Set(['name', 'parentId', 'role', 'sortOrder', 'isSubscribed']);

interface MailboxInput {
  name: string;
  parentId: string | null;
  role: string | null;
  sortOrder: number;
  isSubscribed: boolean;
}

/**
 * Validates the client-settable properties of a Mailbox (RFC 8621 §2.5). On create a server-set
 * property is invalid; on update `changedFixed` lists the server-set ones the patch changed
 * (RFC 8620 §5.3: unchanged ones may be sent back).
 */
function validate(input: JsonObject, ctx: MethodContext, changedFixed: readonly string[] | null): MailboxInput {
  const bad: string[] = [...(changedFixed ?? [])];
  for (const key of Object.keys(input)) {
    if (SERVER_SET.has(key) ? changedFixed === null : !SETTABLE.has(key)) bad.push(key);
  }
  const name = input['name'];
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > MAX_MAILBOX_NAME || /[/\x00-\x1f\x7f*%]/.test(name))
    bad.push('name');
  const parentId = input['parentId'] ?? null;
  if (parentId !== null && typeof parentId !== 'string') bad.push('parentId');
  const role = input['role'] ?? null;
  if (role !== null && (typeof role !== 'string' || !ROLES.has(role))) bad.push('role');
  const sortOrder = input['sortOrder'] ?? 0;
  if (typeof sortOrder !== 'number' || !Number.isSafeInteger(sortOrder) || sortOrder < 0 || sortOrder > 2 ** 31) bad.push('sortOrder');
  const isSubscribed = input['isSubscribed'] ?? true;
  if (typeof isSubscribed !== 'boolean') bad.push('isSubscribed');
  if (bad.length) throw invalidProperties([...new Set(bad)]);
  const resolvedParent = parentId === null ? null : (ctx.resolveId(parentId as string) ?? '');
  return {
    name: name as string,
    parentId: resolvedParent,
    role: role as string | null,
    sortOrder: sortOrder as number,
    isSubscribed: isSubscribed as boolean,
  };
}

function storeError(err: unknown, property: string): SetErrorException {
  if (err instanceof SetErrorException) return err;
  if (isFingerpostError(err, 'already_exists')) return invalidProperties([property], (err as Error).message);
  if (isFingerpostError(err, 'invalid_argument')) return invalidProperties([property], (err as Error).message);
  if (isFingerpostError(err, 'not_found')) return setError('notFound', (err as Error).message);
  throw err;
}

async function parentOf(ctx: MethodContext, accountId: number, parentId: string | null): Promise<Mailbox | null> {
  if (parentId === null) return null;
  const n = fromId('mailbox', parentId);
  const parent = n === undefined ? undefined : await ctx.services.mail.getMailboxById(accountId, n);
  if (!parent) throw invalidProperties(['parentId'], 'the parent mailbox does not exist');
  if (parent.name.split('/').length >= MAX_MAILBOX_DEPTH) throw setError('invalidProperties', 'too deep', { properties: ['parentId'] });
  return parent;
}

async function create(ctx: MethodContext, accountId: number, input: JsonObject): Promise<JsonObject> {
  const m = validate(input, ctx, null);
  const parent = await parentOf(ctx, accountId, m.parentId);
  const name = fullName(parent, m.name);
  if (await ctx.services.mail.getMailbox(accountId, name)) throw invalidProperties(['name'], 'a sibling has this name');
  let box: Mailbox;
  try {
    box = await ctx.services.mail.createMailbox(accountId, name, { role: m.role, subscribed: m.isSubscribed });
  } catch (err) {
    throw storeError(err, m.role ? 'role' : 'name');
  }
  if (m.sortOrder !== box.sortOrder) await ctx.services.mail.updateMailbox(accountId, box.id, { sortOrder: m.sortOrder });
  return {
    id: toId('mailbox', box.id),
    myRights: {
      mayReadItems: true,
      mayAddItems: true,
      mayRemoveItems: true,
      maySetSeen: true,
      maySetKeywords: true,
      mayCreateChild: true,
      mayRename: true,
      mayDelete: true,
      maySubmit: true,
    },
    totalEmails: 0,
    unreadEmails: 0,
    totalThreads: 0,
    unreadThreads: 0,
    ...(input['isSubscribed'] === undefined ? { isSubscribed: m.isSubscribed } : {}),
    ...(input['sortOrder'] === undefined ? { sortOrder: m.sortOrder } : {}),
  };
}

async function update(ctx: MethodContext, accountId: number, id: string, patch: JsonObject): Promise<void> {
  const n = fromId('mailbox', id);
  const box = n === undefined ? undefined : await ctx.services.mail.getMailboxById(accountId, n);
  if (!box) throw setError('notFound');
  const boxes = await ctx.services.mail.listMailboxes(accountId);
  // The whole object, server-set properties included, so a client may send it back (RFC 8620 §5.3).
  // shareWith is the owner's to set (RFC 9670 §4); the rest of the patch is the mailbox's own.
  const { rest, share } = splitShareWith(patch);
  if (share) await applyShareWith(ctx, box, share);
  const current = (await mailboxObjects(ctx.services, accountId, new Set([id]), ctx.shared)).get(id);
  if (!current) throw setError('notFound');
  const next = applyPatch(current, rest);
  const m = validate(
    next,
    ctx,
    changedFixedProperties(current, rest, (p) => SERVER_SET.has(p)),
  );
  if (m.name !== current['name'] || m.parentId !== current['parentId']) {
    if (box.name === 'INBOX') throw setError('forbidden', 'INBOX cannot be renamed or moved');
    const newParent = await parentOf(ctx, accountId, m.parentId);
    if (newParent && (newParent.id === box.id || newParent.name.startsWith(`${box.name}/`))) {
      throw invalidProperties(['parentId'], 'a mailbox cannot move below itself');
    }
    try {
      await ctx.services.mail.renameMailbox(accountId, box.name, fullName(newParent, m.name));
    } catch (err) {
      throw storeError(err, 'name');
    }
  }
  const changes: { role?: string | null; sortOrder?: number; subscribed?: boolean } = {};
  if (m.role !== box.role) changes.role = m.role;
  if (m.sortOrder !== box.sortOrder) changes.sortOrder = m.sortOrder;
  if (m.isSubscribed !== box.subscribed) changes.subscribed = m.isSubscribed;
  if (changes.role && boxes.some((b) => b.role === changes.role && b.id !== box.id))
    throw invalidProperties(['role'], 'another mailbox has this role');
  if (Object.keys(changes).length) await ctx.services.mail.updateMailbox(accountId, box.id, changes);
}

async function destroy(ctx: MethodContext, accountId: number, id: string, removeEmails: boolean): Promise<void> {
  const n = fromId('mailbox', id);
  const box = n === undefined ? undefined : await ctx.services.mail.getMailboxById(accountId, n);
  if (!box) throw setError('notFound');
  if (box.name === 'INBOX') throw setError('forbidden', 'INBOX cannot be destroyed');
  const boxes = await ctx.services.mail.listMailboxes(accountId);
  if (boxes.some((b) => b.name.startsWith(`${box.name}/`))) throw setError('mailboxHasChild');
  if (!removeEmails && (await ctx.services.mail.mailboxCounts(box.id)).messages > 0) throw setError('mailboxHasEmail');
  await ctx.services.mail.deleteMailbox(accountId, box.name);
}

/** Mailbox/set (RFC 8621 §2.5): create, update (rename, move, role, order, subscription, shareWith), destroy. */
export const mailboxSet: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const { create: toCreate, update: toUpdate, destroy: toDestroy } = setArguments(args, ctx);
    const removeEmails = args.boolean('onDestroyRemoveEmails', false);
    const oldState = await typeState(ctx.services, accountId, 'Mailbox');
    checkIfInState(args.string('ifInState'), oldState);

    const created: JsonObject = {};
    const notCreated: Record<string, SetError> = {};
    // Creations may name earlier creations as parents (`#c1`): retry until no progress is made.
    let pending = Object.entries(toCreate);
    for (let pass = 0; pending.length && pass <= MAX_MAILBOX_DEPTH; pass++) {
      const next: typeof pending = [];
      for (const [cid, input] of pending) {
        const parent = isObject(input) ? input['parentId'] : undefined;
        if (
          typeof parent === 'string' &&
          parent.startsWith('#') &&
          ctx.resolveId(parent) === undefined &&
          Object.hasOwn(toCreate, parent.slice(1)) &&
          !notCreated[parent.slice(1)]
        ) {
          next.push([cid, input]);
          continue;
        }
        try {
          if (!isObject(input)) throw invalidProperties([], 'a Mailbox must be an object');
          const result = await create(ctx, accountId, input);
          created[cid] = result;
          ctx.created(cid, result['id'] as string);
        } catch (err) {
          notCreated[cid] = storeError(err, 'name').error;
        }
      }
      if (next.length === pending.length) {
        for (const [cid] of next)
          notCreated[cid] = { type: 'invalidProperties', properties: ['parentId'], description: 'the parent was not created' };
        break;
      }
      pending = next;
    }

    const updated: JsonObject = {};
    const notUpdated: Record<string, SetError> = {};
    for (const [rawId, patch] of Object.entries(toUpdate)) {
      const id = ctx.resolveId(rawId) ?? rawId;
      try {
        if (!isObject(patch)) throw setError('invalidPatch', 'a patch must be an object');
        await update(ctx, accountId, id, patch);
        updated[id] = null;
      } catch (err) {
        notUpdated[id] = storeError(err, 'name').error;
      }
    }

    const destroyed: string[] = [];
    const notDestroyed: Record<string, SetError> = {};
    for (const rawId of toDestroy) {
      const id = ctx.resolveId(rawId) ?? rawId;
      try {
        await destroy(ctx, accountId, id, removeEmails);
        destroyed.push(id);
      } catch (err) {
        notDestroyed[id] = storeError(err, 'id').error;
      }
    }
    const newState = await typeState(ctx.services, accountId, 'Mailbox');
    return setResponse(ctx, oldState, newState, { created, updated, destroyed, notCreated, notUpdated, notDestroyed });
  },
};
