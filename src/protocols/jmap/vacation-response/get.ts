import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { getIds, getProperties, pick } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { loadVacation, SINGLETON, VACATION_PROPERTIES, vacationObject } from './store.ts';

const KNOWN = new Set<string>(VACATION_PROPERTIES);

/** VacationResponse/get (RFC 8621 §8.1): the one `singleton` object. */
export const vacationResponseGet: MethodDefinition = {
  capability: CAPABILITIES.vacation,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.vacation);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, VACATION_PROPERTIES);
    const state = await typeState(ctx.services, accountId, 'VacationResponse');
    const object = vacationObject(await loadVacation(ctx.services, accountId));
    const wanted = ids ?? [SINGLETON];
    return {
      accountId: ctx.accountId,
      state: stateString(state),
      list: wanted.includes(SINGLETON) ? [pick(object, properties)] : [],
      notFound: wanted.filter((id) => id !== SINGLETON),
    };
  },
};
