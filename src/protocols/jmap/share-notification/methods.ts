import type { ShareNotification } from '../../../mail/sharing/notifications.ts';
import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import { changeLogMethod } from '../changes.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Filter, matchFilter, parseFilter, parseSort } from '../filter.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties, pick, queryWindow, setArguments, setResponse, windowedQueryResponse } from '../standard.ts';
import { checkIfInState, stateString } from '../state.ts';

/** ShareNotification properties (RFC 9670 §5). */
const PROPERTIES = ['id', 'created', 'changedBy', 'objectType', 'objectAccountId', 'objectId', 'oldRights', 'newRights', 'name'] as const;
const KNOWN = new Set<string>(PROPERTIES);

function toObject(n: ShareNotification): JsonObject {
  return {
    id: toId('shareNotification', n.id),
    created: new Date(n.created).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    changedBy: {
      name: n.changedBy.name || n.changedBy.email,
      email: n.changedBy.email,
      principalId: toId('principal', n.changedBy.principalId),
    },
    objectType: n.objectType,
    objectAccountId: toId('account', n.objectAccountId),
    objectId: toId('mailbox', n.objectId),
    oldRights: n.oldRights as unknown as JsonObject | null,
    newRights: n.newRights as unknown as JsonObject | null,
    name: n.name,
  };
}

/** ShareNotification/get (RFC 9670 §5.1). */
export const shareNotificationGet: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.principals);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, PROPERTIES);
    const state = await ctx.services.mail.typeState(accountId, 'ShareNotification');
    const numeric = ids?.flatMap((id) => fromId('shareNotification', id) ?? []);
    const found = (await ctx.services.mail.sharing.notifications.list(accountId, numeric)).map(toObject);
    const byId = new Set(found.map((o) => o['id'] as string));
    return {
      accountId: ctx.accountId,
      state: stateString(state),
      list: found.map((o) => pick(o, properties)),
      notFound: (ids ?? []).filter((id) => !byId.has(id)),
    };
  },
};

/** ShareNotification/changes (RFC 9670 §5.2), from the change log. */
export const shareNotificationChanges = changeLogMethod('ShareNotification', 'shareNotification', CAPABILITIES.principals);

/** ShareNotification/set (RFC 9670 §5.3): only destroy; creating or updating is `forbidden`. */
export const shareNotificationSet: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.principals);
    const { create, update, destroy } = setArguments(args, ctx);
    const oldState = await ctx.services.mail.typeState(accountId, 'ShareNotification');
    checkIfInState(args.string('ifInState'), oldState);
    const forbidden = { type: 'forbidden', description: 'ShareNotifications are made by the server and can only be destroyed' };
    const numeric = destroy.flatMap((id) => fromId('shareNotification', id) ?? []);
    const gone = new Set(
      (await ctx.services.mail.sharing.notifications.destroy(accountId, numeric)).map((n) => toId('shareNotification', n)),
    );
    const newState = await ctx.services.mail.typeState(accountId, 'ShareNotification');
    return setResponse(ctx, oldState, newState, {
      notCreated: Object.fromEntries(Object.keys(create).map((k) => [k, forbidden])),
      notUpdated: Object.fromEntries(Object.keys(update).map((k) => [k, forbidden])),
      destroyed: destroy.filter((id) => gone.has(id)),
      notDestroyed: Object.fromEntries(destroy.filter((id) => !gone.has(id)).map((id) => [id, { type: 'notFound' }])),
    });
  },
};

/** A ShareNotification FilterCondition (RFC 9670 §5.4.1). */
interface Condition {
  after?: string;
  before?: string;
  objectType?: string;
  objectAccountId?: string;
}

function parseCondition(c: JsonObject): Condition {
  const out: Condition = {};
  for (const [k, v] of Object.entries(c)) {
    if (k !== 'after' && k !== 'before' && k !== 'objectType' && k !== 'objectAccountId')
      throw new MethodError('unsupportedFilter', `unknown ShareNotification filter ${JSON.stringify(k.slice(0, 100))}`);
    if (typeof v !== 'string') throw invalidArguments(`${k} must be a string`);
    if ((k === 'after' || k === 'before') && Number.isNaN(Date.parse(v))) throw invalidArguments(`${k} must be a UTCDate`);
    out[k] = v;
  }
  return out;
}

function test(c: Condition, o: JsonObject): boolean {
  const created = Date.parse(o['created'] as string);
  if (c.after !== undefined && created < Date.parse(c.after)) return false;
  if (c.before !== undefined && created >= Date.parse(c.before)) return false;
  if (c.objectType !== undefined && o['objectType'] !== c.objectType) return false;
  if (c.objectAccountId !== undefined && o['objectAccountId'] !== c.objectAccountId) return false;
  return true;
}

/** ShareNotification/query (RFC 9670 §5.4): filter by time, object type or account; sorted by `created`. */
export const shareNotificationQuery: MethodDefinition = {
  capability: CAPABILITIES.principals,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.principals);
    const window = queryWindow(args);
    const filter: Filter<Condition> | null = parseFilter(args.raw['filter'], parseCondition);
    const sort = parseSort(args.raw['sort'], new Set(['created']));
    const state = await ctx.services.mail.typeState(accountId, 'ShareNotification');
    const objects = (await ctx.services.mail.sharing.notifications.list(accountId))
      .map(toObject)
      .filter((o) => matchFilter(filter, o, test));
    if (sort[0] && !sort[0].isAscending) objects.reverse();
    return {
      ...windowedQueryResponse(
        ctx,
        state,
        objects.map((o) => o['id'] as string),
        window,
        1000,
      ),
      canCalculateChanges: false,
    };
  },
};
