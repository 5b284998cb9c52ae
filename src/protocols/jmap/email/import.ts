import { isObject, type JsonObject } from '../args.ts';
import { readBlobIn } from '../sharing/shared-blobs.ts';
import { checkCreate } from '../sharing/shared-email-set.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import {
  invalidArguments,
  invalidProperties,
  MethodError,
  PropertyProblems,
  type SetError,
  SetErrorException,
  setError,
} from '../errors.ts';
import { checkIfInState, stateString, typeState } from '../state.ts';
import { parseEmailMeta, storeNew } from './set.ts';

const IMPORT_PROPERTIES = new Set(['blobId', 'mailboxIds', 'keywords', 'receivedAt']);

/**
 * Email/import (RFC 8621 §4.8): stores uploaded RFC 5322 messages (blobs of this account) in
 * mailboxes with keywords and a received date, exactly as given.
 */
export const emailImport: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const emails = args.object('emails');
    if (!emails) throw invalidArguments('emails is required');
    if (Object.keys(emails).length > ctx.services.limits.maxObjectsInSet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} emails per import`, {
        limit: 'maxObjectsInSet',
      });
    const oldState = await typeState(ctx.services, accountId, 'Email');
    checkIfInState(args.string('ifInState'), oldState);
    const created: JsonObject = {};
    const notCreated: Record<string, SetError> = {};
    for (const [cid, spec] of Object.entries(emails)) {
      try {
        if (!isObject(spec)) throw invalidProperties([], 'an EmailImport must be an object');
        const problems = new PropertyProblems();
        for (const key of Object.keys(spec)) if (!IMPORT_PROPERTIES.has(key)) problems.add([key], `${key} is not an EmailImport property`);
        const blobId = spec['blobId'];
        const { mailboxIds, keywords, receivedAt } = await parseEmailMeta(ctx, accountId, spec, problems);
        // RFC 8621 §4.8: a blobId that is missing, of the wrong type or not found is invalidProperties.
        const blob = typeof blobId === 'string' ? await readBlobIn(ctx, accountId, ctx.resolveId(blobId) ?? blobId) : undefined;
        if (!blob) problems.add(['blobId'], typeof blobId === 'string' ? `blob ${blobId.slice(0, 100)} not found` : 'expected a blob id');
        problems.throwIfAny();
        // In a shared account (RFC 9670 §1.4): mayAddItems on each mailbox, and the keywords' rights.
        const why = ctx.shared && checkCreate(ctx.shared, spec);
        if (why) throw setError('forbidden', why);
        if (!blob || blob.bytes.length === 0) throw setError('invalidEmail', 'the blob is empty');
        const result = await storeNew(ctx, accountId, blob.bytes, mailboxIds, keywords, receivedAt);
        created[cid] = result;
        ctx.created(cid, result['id'] as string);
      } catch (err) {
        if (!(err instanceof SetErrorException)) throw err;
        notCreated[cid] = err.error;
      }
    }
    return {
      accountId: ctx.accountId,
      oldState: stateString(oldState),
      newState: stateString(await typeState(ctx.services, accountId, 'Email')),
      created: Object.keys(created).length ? created : null,
      notCreated: Object.keys(notCreated).length ? (notCreated as unknown as JsonObject) : null,
    };
  },
};
