import { mimeParser } from '../../../mail/mime/parse.ts';
import type { StoredMessage } from '../../../mail/types.ts';
import { Args, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { parseBlobId } from '../ids.ts';
import { readBlobIn } from '../sharing/shared-blobs.ts';
import { partBlobIds } from './body.ts';
import { emailRequest } from './get.ts';
import { DEFAULT_PARSE_PROPERTIES, emailObject } from './object.ts';

/** Properties that only exist for stored Emails: Email/parse answers null for them (RFC 8621 §4.9). */
const STORED_ONLY = ['id', 'mailboxIds', 'keywords', 'receivedAt', 'threadId'];

/**
 * Email/parse (RFC 8621 §4.9): Email objects for message blobs (uploads or attached messages); on
 * a shared account (RFC 9670 §1.4) the blobs the grant lets the caller read.
 */
export const emailParse: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const blobIds = args.strings('blobIds');
    if (!blobIds) throw invalidArguments('blobIds is required');
    if (blobIds.length > ctx.services.limits.maxObjectsInGet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInGet} blobIds`, { limit: 'maxObjectsInGet' });
    const req = emailRequest(args.has('properties') ? args : new Args({ ...args.raw, properties: DEFAULT_PARSE_PROPERTIES }));
    const parsed: JsonObject = {};
    const notParsable: string[] = [];
    const notFound: string[] = [];
    for (const blobId of blobIds) {
      const blob = await readBlobIn(ctx, accountId, blobId);
      const ref = parseBlobId(blobId);
      if (!blob || !ref) {
        notFound.push(blobId);
        continue;
      }
      if (blob.bytes.length === 0) {
        notParsable.push(blobId);
        continue;
      }
      const meta = mimeParser.parse(blob.bytes);
      const message: StoredMessage = {
        id: 0,
        accountId,
        blobId: ref.sha,
        size: blob.bytes.length,
        receivedAt: 0,
        threadId: 0,
        keywords: [],
        modseq: 0,
        meta,
      };
      const object = emailObject(message, [], req, blob.bytes, undefined, partBlobIds(ref.sha, ref.part.join('.')));
      for (const p of STORED_ONLY) if (p in object) object[p] = null;
      if ('blobId' in object) object['blobId'] = blobId;
      if ('size' in object) object['size'] = blob.bytes.length;
      parsed[blobId] = object;
    }
    return {
      accountId: ctx.accountId,
      parsed: Object.keys(parsed).length ? parsed : null,
      notParsable: notParsable.length ? notParsable : null,
      notFound: notFound.length ? notFound : null,
    };
  },
};
