import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { NamedAddress } from '../../../mail/identities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidProperties, PropertyProblems, type SetError, SetErrorException, setError } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { fromId, toId } from '../ids.ts';
import { applyPatch } from '../patch.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkIfInState, typeState } from '../state.ts';
import { identityObject, listIdentities, primaryIdentityId } from './store.ts';

const SETTABLE = new Set(['name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature']);
const SERVER_SET = new Set(['id', 'mayDelete']);
const MAX_TEXT = 64 * 1024;

function addressList(value: JsonValue | undefined, property: string): NamedAddress[] | null {
  if (value === undefined || value === null) return null;
  if (
    !Array.isArray(value) ||
    !value.every(
      (a) =>
        isObject(a) && typeof a['email'] === 'string' && (a['name'] === undefined || a['name'] === null || typeof a['name'] === 'string'),
    )
  ) {
    throw invalidProperties([property], 'expected EmailAddress[]');
  }
  return value.map((a) => ({
    name: ((a as JsonObject)['name'] as string | null | undefined) ?? null,
    email: (a as JsonObject)['email'] as string,
  }));
}

function text(value: JsonValue | undefined, property: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > MAX_TEXT) throw invalidProperties([property]);
  return value;
}

/** Validates an Identity (RFC 8621 §6); every invalid property is named at once. */
function validate(input: JsonObject, current: JsonObject | null) {
  const problems = new PropertyProblems();
  const bad = Object.keys(input).filter(
    (k) => !SETTABLE.has(k) && !(SERVER_SET.has(k) && current && JSON.stringify(current[k]) === JSON.stringify(input[k])),
  );
  if (bad.length) problems.add(bad);
  const email = input['email'];
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) problems.add(['email']);
  else if (current && email !== current['email']) problems.add(['email'], 'the email of an Identity cannot change');
  const v = {
    name: problems.check(() => text(input['name'], 'name'), ''),
    email: email as string,
    replyTo: problems.check(() => addressList(input['replyTo'], 'replyTo'), null),
    bcc: problems.check(() => addressList(input['bcc'], 'bcc'), null),
    textSignature: problems.check(() => text(input['textSignature'], 'textSignature'), ''),
    htmlSignature: problems.check(() => text(input['htmlSignature'], 'htmlSignature'), ''),
  };
  problems.throwIfAny();
  return v;
}

function toSetError(err: unknown): SetError {
  if (err instanceof SetErrorException) return err.error;
  throw err;
}

async function run(ctx: MethodContext, accountId: number, create: JsonObject, update: JsonObject, destroy: readonly string[]) {
  const { services } = ctx;
  const created: JsonObject = {};
  const notCreated: Record<string, SetError> = {};
  const address = ctx.caller.account.address;
  const primaryBefore = primaryIdentityId(await listIdentities(services, accountId), address);
  for (const [cid, input] of Object.entries(create)) {
    try {
      if (!isObject(input)) throw invalidProperties([]);
      const v = validate(input, null);
      if (!(await services.submission.maySendAs(accountId, v.email)))
        throw setError('forbiddenFrom', `this account may not send as ${v.email}`);
      const id = await services.mail.identities.create(accountId, v);
      // Only the first identity with the account's own address is the undeletable primary one.
      const primary = primaryBefore ?? (v.email.toLowerCase() === address.toLowerCase() ? id : undefined);
      created[cid] = { id: toId('identity', id), mayDelete: id !== primary };
      ctx.created(cid, toId('identity', id));
    } catch (err) {
      notCreated[cid] = toSetError(err);
    }
  }
  const all = await listIdentities(services, accountId);
  const rows = new Map(all.map((r) => [r.id, r]));
  const primary = primaryIdentityId(all, address);
  const updated: JsonObject = {};
  const notUpdated: Record<string, SetError> = {};
  for (const [rawId, patch] of Object.entries(update)) {
    const id = ctx.resolveId(rawId) ?? rawId;
    try {
      const n = fromId('identity', id);
      const row = n === undefined ? undefined : rows.get(n);
      if (!row || !isObject(patch)) throw setError('notFound');
      const current = identityObject(row, primary);
      const v = validate(applyPatch(current, patch), current);
      await services.mail.identities.update(accountId, row.id, v);
      updated[id] = null;
    } catch (err) {
      notUpdated[id] = toSetError(err);
    }
  }
  const destroyed: string[] = [];
  const notDestroyed: Record<string, SetError> = {};
  for (const rawId of destroy) {
    const id = ctx.resolveId(rawId) ?? rawId;
    try {
      const n = fromId('identity', id);
      const row = n === undefined ? undefined : rows.get(n);
      if (!row) throw setError('notFound');
      if (!identityObject(row, primary)['mayDelete']) throw setError('forbidden', 'the primary identity cannot be destroyed');
      await services.mail.identities.destroy(accountId, row.id);
      destroyed.push(id);
    } catch (err) {
      notDestroyed[id] = toSetError(err);
    }
  }
  return { created, notCreated, updated, notUpdated, destroyed, notDestroyed };
}

/** Identity/set (RFC 8621 §6.3): addresses follow `submission.sender_policy`; the primary one stays. */
export const identitySet: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const { create, update, destroy } = setArguments(args, ctx);
    await listIdentities(ctx.services, accountId);
    const oldState = await typeState(ctx.services, accountId, 'Identity');
    checkIfInState(args.string('ifInState'), oldState);
    const r = await run(ctx, accountId, create, update, destroy);
    return setResponse(ctx, oldState, await typeState(ctx.services, accountId, 'Identity'), r);
  },
};
