import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import { parseDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, invalidProperties, MethodError, type SetError, SetErrorException, setError } from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { checkCreate } from '../sharing/shared-email-set.ts';
import { readable, sharedAccessTo } from '../sharing/shared-mail.ts';
import { checkIfInState, stateString, typeState } from '../state.ts';
import { parseKeywords, parseMailboxIds, runEmailSet, storeNew } from './set.ts';

/**
 * Email/copy (RFC 8621 §4.7, RFC 8620 §5.4): copies Emails from `fromAccountId` as new Emails
 * with their own mailboxes, keywords and received date; `onSuccessDestroyOriginal` then runs an
 * implicit Email/set destroy in the source account, answered right after. The source may be an
 * account that shared mailboxes with the caller: only Emails the caller may read are copied; so
 * may the target, within the grant's rights.
 */
export const emailCopy: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const from = fromId('account', args.requiredId('fromAccountId'));
    // The source may be an account that shared mailboxes with the caller (RFC 9670 §1.4): its readable Emails.
    const shared = await sharedAccessTo(ctx, from);
    if (from === undefined || (from !== ctx.caller.account.id && !shared)) throw new MethodError('fromAccountNotFound');
    const create = args.object('create');
    if (!create) throw invalidArguments('create is required');
    if (Object.keys(create).length > ctx.services.limits.maxObjectsInSet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} objects per /copy`, {
        limit: 'maxObjectsInSet',
      });
    const oldState = await typeState(ctx.services, accountId, 'Email');
    checkIfInState(args.string('ifInState'), oldState);
    const fromState = await typeState(ctx.services, from, 'Email');
    const ifFromInState = args.string('ifFromInState');
    if (ifFromInState !== undefined && ifFromInState !== stateString(fromState)) throw new MethodError('stateMismatch');
    const created: JsonObject = {};
    const notCreated: Record<string, SetError> = {};
    const copiedFrom: string[] = [];
    for (const [cid, spec] of Object.entries(create)) {
      try {
        if (!isObject(spec) || typeof spec['id'] !== 'string') throw invalidProperties(['id']);
        const source = fromId('email', ctx.resolveId(spec['id']));
        const [message] = source === undefined ? [] : await ctx.services.mail.getMessages(from, [source]);
        if (!message || (shared && !(await readable(ctx, shared, [message.id])).has(message.id)))
          throw setError('notFound', `no Email ${spec['id']} in the source account`);
        const mailboxIds = await parseMailboxIds(ctx, accountId, spec['mailboxIds']);
        const keywords = spec['keywords'] === undefined ? [...message.keywords] : parseKeywords(spec['keywords']);
        let receivedAt = message.receivedAt;
        if (spec['receivedAt'] !== undefined && spec['receivedAt'] !== null) {
          const parsed = parseDate(spec['receivedAt'], true);
          if (parsed === undefined) throw invalidProperties(['receivedAt']);
          receivedAt = parsed;
        }
        // Into a shared account (RFC 9670 §1.4): mayAddItems on each mailbox, and the keywords' rights.
        const why =
          ctx.shared &&
          checkCreate(ctx.shared, { mailboxIds: spec['mailboxIds'] ?? null, keywords: Object.fromEntries(keywords.map((k) => [k, true])) });
        if (why) throw setError('forbidden', why);
        const raw = await ctx.services.mail.readRaw(message);
        const result = await storeNew(ctx, accountId, raw, mailboxIds, keywords, receivedAt);
        created[cid] = result;
        ctx.created(cid, result['id'] as string);
        copiedFrom.push(spec['id']);
      } catch (err) {
        if (!(err instanceof SetErrorException)) throw err;
        notCreated[cid] = err.error;
      }
    }
    const response = {
      fromAccountId: toId('account', from),
      accountId: ctx.accountId,
      oldState: stateString(oldState),
      newState: stateString(await typeState(ctx.services, accountId, 'Email')),
      created: Object.keys(created).length ? created : null,
      notCreated: Object.keys(notCreated).length ? (notCreated as unknown as JsonObject) : null,
    };
    if (args.boolean('onSuccessDestroyOriginal', false) && copiedFrom.length && shared) {
      ctx.extra.push([
        'error',
        { type: 'forbidden', description: 'originals in a shared account are not destroyed by Email/copy; use Email/set there' },
      ]);
    } else if (args.boolean('onSuccessDestroyOriginal', false) && copiedFrom.length) {
      try {
        ctx.extra.push([
          'Email/set',
          await runEmailSet(ctx, from, { create: {}, update: {}, destroy: copiedFrom, ifInState: args.string('destroyFromIfInState') }),
        ]);
      } catch (err) {
        if (!(err instanceof MethodError)) throw err;
        ctx.extra.push(['error', { type: err.type, ...(err.extra as JsonObject) }]);
      }
    }
    return response;
  },
};
