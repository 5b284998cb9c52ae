import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError, type SetError } from '../errors.ts';
import { fromId } from '../ids.ts';
import { readBlobIn, uploadAccount } from '../sharing/shared-blobs.ts';
import { sharedAccessTo } from '../sharing/shared-mail.ts';
import { storeUpload } from './upload.ts';

/**
 * Blob/copy (RFC 8620 §6.3): makes blobs of the `fromAccountId` readable in `accountId`, byte for
 * byte (a body part's blob becomes a whole blob of its decoded bytes). Either account may be one
 * shared with the caller (RFC 9670 §1.4, src/protocols/jmap/sharing/shared-blobs.ts); any other is
 * `fromAccountNotFound` / `accountNotFound`.
 */
export const blobCopy: MethodDefinition = {
  capability: CAPABILITIES.core,
  async run(args, ctx) {
    const from = fromId('account', args.requiredId('fromAccountId'));
    const accountId = ctx.account(args, CAPABILITIES.core);
    if (from === undefined || (from !== ctx.caller.account.id && !(await sharedAccessTo(ctx, from))))
      throw new MethodError('fromAccountNotFound');
    const uploader = await uploadAccount(ctx, accountId);
    const blobIds = args.ids('blobIds');
    if (!blobIds) throw invalidArguments('blobIds is required');
    if (blobIds.length > ctx.services.limits.maxObjectsInSet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} blobs per copy`, {
        limit: 'maxObjectsInSet',
      });
    const copied: Record<string, string> = {};
    const notCopied: Record<string, SetError> = {};
    for (const raw of new Set(blobIds)) {
      const id = ctx.resolveId(raw) ?? raw;
      const blob = await readBlobIn(ctx, from, id);
      if (!blob) {
        notCopied[raw] = { type: 'blobNotFound', description: 'no such blob in the source account' };
        continue;
      }
      copied[raw] = (await storeUpload(ctx.services, uploader, blob.bytes, blob.type)).blobId;
    }
    return {
      fromAccountId: args.requiredId('fromAccountId'),
      accountId: ctx.accountId,
      copied: Object.keys(copied).length ? copied : null,
      notCopied: Object.keys(notCopied).length ? (notCopied as unknown as JsonObject) : null,
    };
  },
};
