import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import { parseDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidProperties, PropertyProblems, type SetError, SetErrorException } from '../errors.ts';
import { applyPatch } from '../patch.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkIfInState, typeState } from '../state.ts';
import { loadVacation, SINGLETON, vacationObject } from './store.ts';

const MAX_TEXT = 64 * 1024;

function optionalText(v: unknown, property: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' || v.length > MAX_TEXT) throw invalidProperties([property]);
  return v;
}

function optionalDate(v: unknown, property: string): number | null {
  if (v === null || v === undefined) return null;
  const ms = parseDate(v, true);
  if (ms === undefined) throw invalidProperties([property]);
  return ms;
}

/** VacationResponse/set (RFC 8621 §8.2): only `update` of the singleton; create and destroy are `singleton` errors. */
export const vacationResponseSet: MethodDefinition = {
  capability: CAPABILITIES.vacation,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.vacation);
    const { create, update, destroy } = setArguments(args, ctx);
    const oldState = await typeState(ctx.services, accountId, 'VacationResponse');
    checkIfInState(args.string('ifInState'), oldState);
    const notCreated: Record<string, SetError> = {};
    for (const cid of Object.keys(create))
      notCreated[cid] = { type: 'singleton', description: 'VacationResponse is a singleton; update "singleton"' };
    const notDestroyed: Record<string, SetError> = {};
    for (const id of destroy) notDestroyed[id] = { type: 'singleton' };
    const updated: JsonObject = {};
    const notUpdated: Record<string, SetError> = {};
    for (const [id, patch] of Object.entries(update)) {
      if (id !== SINGLETON) {
        notUpdated[id] = { type: 'notFound' };
        continue;
      }
      try {
        if (!isObject(patch)) throw invalidProperties([]);
        const current = vacationObject(await loadVacation(ctx.services, accountId));
        const next = applyPatch(current, patch);
        // Every invalid property at once (RFC 8620 §5.3).
        const problems = new PropertyProblems();
        const bad = Object.keys(next).filter((k) => !Object.hasOwn(current, k) || (k === 'id' && next[k] !== SINGLETON));
        if (bad.length) problems.add(bad);
        if (typeof next['isEnabled'] !== 'boolean') problems.add(['isEnabled']);
        const vacation = {
          isEnabled: next['isEnabled'] === true,
          fromDate: problems.check(() => optionalDate(next['fromDate'], 'fromDate'), null),
          toDate: problems.check(() => optionalDate(next['toDate'], 'toDate'), null),
          subject: problems.check(() => optionalText(next['subject'], 'subject'), null),
          textBody: problems.check(() => optionalText(next['textBody'], 'textBody'), null),
          htmlBody: problems.check(() => optionalText(next['htmlBody'], 'htmlBody'), null),
        };
        problems.throwIfAny();
        // A new vacation period replies to everyone again (RFC 3834 §2).
        await ctx.services.mail.vacation.save(accountId, vacation);
        updated[id] = null;
      } catch (err) {
        if (!(err instanceof SetErrorException)) throw err;
        notUpdated[id] = err.error;
      }
    }
    const newState = await typeState(ctx.services, accountId, 'VacationResponse');
    return setResponse(ctx, oldState, newState, { updated, notCreated, notUpdated, notDestroyed });
  },
};
