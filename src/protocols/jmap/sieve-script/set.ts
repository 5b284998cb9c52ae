import { type FingerpostError, isFingerpostError } from '../../../core/errors.ts';
import { badScriptName, type SieveScripts, type StoredScript } from '../../../mail/sieve/scripts.ts';
import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, invalidProperties, MethodError, type SetError, SetErrorException, setError } from '../errors.ts';
import { fromId, toBlobId } from '../ids.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkScript, loadScripts, scriptObject, scriptSha, scriptSource, scriptStore, scriptsState } from './store.ts';

const SETTABLE = new Set(['name', 'blobId']);

function toSetError(err: unknown): SetError {
  if (err instanceof SetErrorException) return err.error;
  // The store re-checks quota and name clashes under its own rules (src/mail/sieve/scripts.ts).
  if (isFingerpostError(err, 'limit_exceeded')) {
    const quota = (err as FingerpostError).context?.['quota'];
    return quota === 'maxsize' ? { type: 'tooLarge', description: err.message } : { type: 'overQuota', description: err.message };
  }
  if (isFingerpostError(err, 'already_exists')) return { type: 'alreadyExists', description: err.message };
  if (isFingerpostError(err, 'not_found')) return { type: 'notFound' };
  throw err;
}

/** Reads and compiles the script a `blobId` names; refusals are SetErrors (RFC 9661 §2.4). */
async function scriptContent(ctx: MethodContext, accountId: number, blobId: unknown): Promise<string> {
  if (typeof blobId !== 'string') throw invalidProperties(['blobId'], 'expected a blob id');
  const bytes = await scriptSource(ctx, accountId, blobId);
  if (!bytes) throw setError('blobNotFound', `blob ${blobId.slice(0, 100)} not found`, { notFound: [blobId] });
  const checked = checkScript(ctx.services, bytes);
  if ('error' in checked) throw new SetErrorException(checked.error);
  return checked.content;
}

function checkName(name: unknown, scripts: readonly StoredScript[], self: StoredScript | undefined): string {
  if (typeof name !== 'string') throw invalidProperties(['name'], 'expected a string');
  const bad = badScriptName(name);
  if (bad) throw invalidProperties(['name'], bad);
  const clash = scripts.find((s) => s.name === name && s.id !== self?.id);
  if (clash) throw setError('alreadyExists', 'a script of that name exists', { existingId: scriptObject(clash).id });
  return name;
}

/** A free server-assigned name when a creation names none (RFC 9661 §2.1 `name`). */
function freeName(scripts: readonly StoredScript[]): string {
  for (let n = 1; ; n++) if (!scripts.some((s) => s.name === `script-${n}`)) return `script-${n}`;
}

async function quotaCheck(store: SieveScripts, accountId: number, name: string, content: string): Promise<void> {
  const full = await store.spaceFor(accountId, name, Buffer.byteLength(content, 'utf8'));
  if (full === 'maxscripts') throw setError('overQuota', `at most ${store.quota.maxScripts} scripts per account`);
  if (full === 'maxsize') throw setError('tooLarge', `scripts are limited to ${store.quota.maxBytes} octets`);
}

function unknownProperties(input: JsonObject, current: JsonObject | null): void {
  const bad = Object.keys(input).filter(
    (k) => !SETTABLE.has(k) && !(current && (k === 'id' || k === 'isActive') && JSON.stringify(current[k]) === JSON.stringify(input[k])),
  );
  if (bad.length) throw invalidProperties(bad, 'id and isActive are set by the server; use onSuccessActivateScript');
}

function byId(scripts: readonly StoredScript[], id: string): StoredScript | undefined {
  const n = fromId('sieveScript', id);
  return n === undefined ? undefined : scripts.find((s) => s.id === n);
}

/**
 * SieveScript/set (RFC 9661 §2.4): creates scripts from uploaded blobs, renames them or replaces
 * their content, destroys inactive ones (`scriptIsActive` otherwise); every script is compiled
 * first (`invalidSieve`). After all of it succeeded, `onSuccessActivateScript` /
 * `onSuccessDeactivateScript` change the active script (RFC 5804 §2.8 SETACTIVE).
 */
export const sieveScriptSet: MethodDefinition = {
  capability: CAPABILITIES.sieve,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.sieve);
    const store = scriptStore(ctx);
    const { create, update, destroy } = setArguments(args, ctx);
    const activate = args.raw['onSuccessActivateScript'];
    if (activate !== undefined && activate !== null && typeof activate !== 'string')
      throw invalidArguments('onSuccessActivateScript must be an Id');
    const deactivate = args.boolean('onSuccessDeactivateScript', false);
    const before = await loadScripts(store, accountId);
    const oldState = scriptsState(before);
    const ifInState = args.string('ifInState');
    if (ifInState !== undefined && ifInState !== oldState) throw new MethodError('stateMismatch');

    const created: Record<string, JsonObject> = {};
    const notCreated: Record<string, SetError> = {};
    for (const [cid, input] of Object.entries(create)) {
      try {
        if (!isObject(input)) throw invalidProperties([]);
        unknownProperties(input, null);
        const scripts = await loadScripts(store, accountId);
        const named = input['name'] !== undefined && input['name'] !== null;
        const name = named ? checkName(input['name'], scripts, undefined) : freeName(scripts);
        const content = await scriptContent(ctx, accountId, input['blobId']);
        await quotaCheck(store, accountId, name, content);
        await store.put(accountId, name, content);
        const row = await store.get(accountId, name);
        if (!row) throw setError('notFound');
        const o = scriptObject(row);
        created[cid] = { id: o.id, blobId: o.blobId, isActive: false, ...(named ? {} : { name }) };
        ctx.created(cid, o.id);
      } catch (err) {
        notCreated[cid] = toSetError(err);
      }
    }

    const updated: Record<string, JsonObject | null> = {};
    const notUpdated: Record<string, SetError> = {};
    for (const [rawId, patch] of Object.entries(update)) {
      const id = ctx.resolveId(rawId) ?? rawId;
      try {
        const scripts = await loadScripts(store, accountId);
        const row = byId(scripts, id);
        if (!row || !isObject(patch)) throw setError('notFound');
        unknownProperties(patch, scriptObject(row));
        const name = patch['name'] !== undefined ? checkName(patch['name'], scripts, row) : row.name;
        const content = patch['blobId'] !== undefined ? await scriptContent(ctx, accountId, patch['blobId']) : undefined;
        if (content !== undefined) await quotaCheck(store, accountId, row.name, content);
        if (name !== row.name) await store.rename(accountId, row.name, name);
        if (content !== undefined) await store.put(accountId, name, content);
        updated[id] = content !== undefined ? { blobId: toBlobId(scriptSha(content)) } : null;
      } catch (err) {
        notUpdated[id] = toSetError(err);
      }
    }

    const destroyed: string[] = [];
    const notDestroyed: Record<string, SetError> = {};
    for (const rawId of destroy) {
      const id = ctx.resolveId(rawId) ?? rawId;
      try {
        const row = byId(await loadScripts(store, accountId), id);
        if (!row) throw setError('notFound');
        if (row.active) throw setError('scriptIsActive', 'the active script cannot be destroyed; deactivate it first');
        await store.delete(accountId, row.name);
        destroyed.push(id);
      } catch (err) {
        notDestroyed[id] = toSetError(err);
      }
    }

    // RFC 9661 §2.4: the active script changes only when every creation, update and destruction succeeded.
    const allOk = !Object.keys(notCreated).length && !Object.keys(notUpdated).length && !Object.keys(notDestroyed).length;
    if (allOk && (deactivate || typeof activate === 'string')) {
      const scripts = await loadScripts(store, accountId);
      const wasActive = scripts.find((s) => s.active);
      const target = typeof activate === 'string' ? byId(scripts, ctx.resolveId(activate) ?? activate) : undefined;
      // An unknown id is ignored (RFC 9661 §2.4) unless deactivation was asked for too.
      if (target || deactivate) {
        await store.setActive(accountId, target?.name ?? '');
        const report = (s: StoredScript, isActive: boolean) => {
          const id = scriptObject(s).id;
          const cid = Object.entries(created).find(([, o]) => o['id'] === id)?.[0];
          if (cid) created[cid] = { ...created[cid], isActive };
          else updated[id] = { ...(updated[id] ?? {}), isActive };
        };
        if (wasActive && wasActive.id !== target?.id) report(wasActive, false);
        if (target && !target.active) report(target, true);
      }
    }
    const newState = scriptsState(await loadScripts(store, accountId));
    const response = setResponse(ctx, 0, 0, { created, updated, destroyed, notCreated, notUpdated, notDestroyed });
    return { ...response, oldState, newState };
  },
};

/**
 * SieveScript/validate (RFC 9661 §2.6): compiles the script a blob holds without storing it;
 * `error` is null, or the SetError (`invalidSieve` with the compiler's message, `tooLarge`, `blobNotFound`).
 */
export const sieveScriptValidate: MethodDefinition = {
  capability: CAPABILITIES.sieve,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.sieve);
    scriptStore(ctx);
    const blobId = args.requiredString('blobId');
    let error: SetError | null = null;
    try {
      await scriptContent(ctx, accountId, blobId);
    } catch (err) {
      error = toSetError(err);
    }
    return { accountId: ctx.accountId, error: error as JsonObject | null };
  },
};
