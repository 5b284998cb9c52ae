import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import { parseDate, utcDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError, PropertyProblems, type SetError, SetErrorException, setError } from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { PUSH_TYPES } from '../state.ts';
import { changedFixedProperties } from '../server-set.ts';
import { newVerificationCode, pushObject } from './store.ts';
import { sameSecret } from '../../../core/constant-time.ts';

const CREATE_PROPERTIES = new Set(['deviceClientId', 'url', 'keys', 'verificationCode', 'expires', 'types']);
const UPDATE_PROPERTIES = new Set(['verificationCode', 'expires', 'types']);
const FIXED_PROPERTIES = new Set(['id', 'deviceClientId']);
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Told of a new subscription so its PushVerification is queued (RFC 8620 §7.2.2). */
export type VerificationSender = (subscriptionId: number) => Promise<void>;

function parseExpires(ctx: MethodContext, value: unknown, problems: PropertyProblems): number {
  const now = ctx.services.now();
  // Subscriptions live at most `jmap.push_max_lifetime`; a later `expires` is shortened (RFC 8620 §7.2).
  const lifetime = ctx.services.config.jmap.push_max_lifetime;
  if (value === undefined || value === null) return now + lifetime;
  const ms = parseDate(value, true);
  if (ms === undefined || ms <= now) {
    problems.add(['expires'], 'expires must be a UTCDate in the future');
    return 0;
  }
  // The server may shorten the lifetime; the client learns the real value from the answer.
  return Math.min(ms, now + lifetime);
}

function parseTypes(value: unknown, problems: PropertyProblems): string | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && (PUSH_TYPES as readonly string[]).includes(t))) {
    problems.add(['types'], `types is null or a list of ${PUSH_TYPES.join(', ')}`);
    return null;
  }
  return JSON.stringify([...new Set(value as string[])]);
}

/** A key of the client's (RFC 8291 §3): a P-256 point of 65 octets, an auth secret of 16. */
function parseKeys(value: unknown, problems: PropertyProblems): { p256dh: string; auth: string } | null {
  if (value === undefined || value === null) return null;
  const ok =
    isObject(value) &&
    Object.keys(value).every((k) => k === 'p256dh' || k === 'auth') &&
    typeof value['p256dh'] === 'string' &&
    typeof value['auth'] === 'string' &&
    B64URL.test(value['p256dh']) &&
    B64URL.test(value['auth']) &&
    Buffer.from(value['p256dh'], 'base64url').length === 65 &&
    Buffer.from(value['p256dh'], 'base64url')[0] === 4 &&
    Buffer.from(value['auth'], 'base64url').length === 16;
  if (!ok) {
    problems.add(['keys'], 'keys has p256dh (an uncompressed P-256 point) and auth (16 octets), base64url');
    return null;
  }
  return { p256dh: (value as JsonObject)['p256dh'] as string, auth: (value as JsonObject)['auth'] as string };
}

/** Only https URLs of a reasonable size; the outbound guard checks the address when sending. */
function parseUrl(value: unknown, problems: PropertyProblems): string {
  if (typeof value !== 'string' || value.length > 2048) {
    problems.add(['url'], 'url is an https URL of at most 2048 characters');
    return '';
  }
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' || u.username || u.password) throw new Error('not https');
    return u.toString();
  } catch {
    problems.add(['url'], 'url must be an https URL without credentials');
    return '';
  }
}

/**
 * PushSubscription/set (RFC 8620 §7.2.2): create (the server then sends a PushVerification to the
 * URL), update `verificationCode` (must equal the code sent; then StateChanges flow), `expires`
 * (shortened to seven days at most) and `types`, destroy. No account id and no state.
 */
export function pushSubscriptionSet(sendVerification: VerificationSender): MethodDefinition {
  return {
    capability: CAPABILITIES.core,
    async run(args, ctx) {
      const subs = ctx.services.mail.pushSubscriptions;
      const accountId = ctx.caller.account.id;
      if (args.has('accountId') || args.has('ifInState')) throw invalidArguments('PushSubscription/set takes no accountId or ifInState');
      const create = args.object('create') ?? {};
      const update = args.object('update') ?? {};
      const destroy = args.ids('destroy') ?? [];
      const total = Object.keys(create).length + Object.keys(update).length + destroy.length;
      if (total > ctx.services.limits.maxObjectsInSet)
        throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} changes`, { limit: 'maxObjectsInSet' });
      const created: JsonObject = {};
      const notCreated: Record<string, SetError> = {};
      for (const [cid, spec] of Object.entries(create)) {
        try {
          if (!isObject(spec)) throw setError('invalidProperties', 'a PushSubscription is an object');
          const problems = new PropertyProblems();
          for (const key of Object.keys(spec)) if (!CREATE_PROPERTIES.has(key)) problems.add([key], 'not settable');
          const deviceClientId = spec['deviceClientId'];
          if (typeof deviceClientId !== 'string' || !deviceClientId || deviceClientId.length > 255) problems.add(['deviceClientId']);
          const url = parseUrl(spec['url'], problems);
          const keys = parseKeys(spec['keys'], problems);
          if (spec['verificationCode'] !== undefined && spec['verificationCode'] !== null)
            problems.add(['verificationCode'], 'the server sends the code; it is null on create');
          const expires = parseExpires(ctx, spec['expires'], problems);
          const types = parseTypes(spec['types'], problems);
          problems.throwIfAny();
          const max = ctx.services.config.jmap.push_max_subscriptions;
          if ((await subs.count(accountId)) >= max) throw setError('forbidden', `at most ${max} push subscriptions per account`);
          const rowId = await subs.create(accountId, {
            deviceClientId: deviceClientId as string,
            url,
            keys,
            verificationCode: newVerificationCode(),
            expires,
            types,
            createdAt: ctx.services.now(),
          });
          const id = toId('push', rowId);
          created[cid] = { id, expires: utcDate(expires) };
          ctx.created(cid, id);
          await sendVerification(rowId);
        } catch (err) {
          if (!(err instanceof SetErrorException)) throw err;
          notCreated[cid] = err.error;
        }
      }
      const mine = new Map((await subs.list(accountId)).map((r) => [r.id, r]));
      const updated: JsonObject = {};
      const notUpdated: Record<string, SetError> = {};
      for (const [rawId, patch] of Object.entries(update)) {
        const id = ctx.resolveId(rawId) ?? rawId;
        try {
          const n = fromId('push', id);
          const row = n === undefined ? undefined : mine.get(n);
          if (!row) throw setError('notFound');
          if (!isObject(patch)) throw setError('invalidProperties', 'a patch is an object');
          const problems = new PropertyProblems();
          const set: { verified?: number; expires?: number; types?: string | null } = {};
          // The whole object as /get gave it may come back (RFC 8620 §5.3): `id` and
          // `deviceClientId` unchanged, `verificationCode` still null before verification.
          const current = pushObject(row);
          for (const key of changedFixedProperties(current, patch, (p) => FIXED_PROPERTIES.has(p))) problems.add([key], 'immutable');
          for (const [key, value] of Object.entries(patch)) {
            if (FIXED_PROPERTIES.has(key)) continue;
            if (!UPDATE_PROPERTIES.has(key)) {
              problems.add([key], 'not settable');
              continue;
            }
            if (key === 'verificationCode' && value === null && current['verificationCode'] === null) continue;
            if (key === 'verificationCode') {
              if (typeof value !== 'string' || !sameSecret(value, row.verification_code)) problems.add([key], 'not the code that was sent');
              else set.verified = 1;
            } else if (key === 'expires') set.expires = parseExpires(ctx, value, problems);
            else set.types = parseTypes(value, problems);
          }
          problems.throwIfAny();
          await subs.update(row.id, set);
          const out: JsonObject = {};
          if (set.expires !== undefined && patch['expires'] !== undefined && parseDate(patch['expires'], true) !== set.expires)
            out['expires'] = utcDate(set.expires);
          updated[id] = Object.keys(out).length ? out : null;
        } catch (err) {
          if (!(err instanceof SetErrorException)) throw err;
          notUpdated[id] = err.error;
        }
      }
      const destroyed: string[] = [];
      const notDestroyed: Record<string, SetError> = {};
      for (const rawId of destroy) {
        const id = ctx.resolveId(rawId) ?? rawId;
        const n = fromId('push', id);
        if (n === undefined || !mine.has(n)) {
          notDestroyed[id] = { type: 'notFound' };
          continue;
        }
        await subs.destroy(n);
        destroyed.push(id);
      }
      const map = (o: Record<string, unknown>) => (Object.keys(o).length ? (o as JsonObject) : null);
      return {
        created: map(created),
        updated: map(updated),
        destroyed: destroyed.length ? destroyed : null,
        notCreated: map(notCreated),
        notUpdated: map(notUpdated),
        notDestroyed: map(notDestroyed),
      };
    },
  };
}
