import { type JsonObject, isObject } from '../args.ts';
import { CAPABILITIES, MAX_DATA_SOURCES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidProperties, MethodError, type SetError, SetErrorException, setError } from '../errors.ts';
import { readBlobIn, uploadAccount } from '../sharing/shared-blobs.ts';
import { storeUpload } from './upload.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of one DataSourceObject (RFC 9404 §4.1): text, base64, or a range of a readable blob. */
async function dataSource(ctx: MethodContext, accountId: number, source: unknown, at: number): Promise<Buffer> {
  const where = `data/${at}`;
  if (!isObject(source)) throw invalidProperties([where], 'a DataSourceObject must be an object');
  const keys = Object.keys(source);
  if (keys.length === 1 && keys[0] === 'data:asText') {
    if (typeof source['data:asText'] !== 'string') throw invalidProperties([`${where}/data:asText`]);
    return Buffer.from(source['data:asText'], 'utf8');
  }
  if (keys.length === 1 && keys[0] === 'data:asBase64') {
    const text = source['data:asBase64'];
    if (typeof text !== 'string' || !BASE64.test(text)) throw invalidProperties([`${where}/data:asBase64`], 'not base64');
    return Buffer.from(text, 'base64');
  }
  if (typeof source['blobId'] === 'string' && keys.every((k) => k === 'blobId' || k === 'offset' || k === 'length')) {
    const id = ctx.resolveId(source['blobId']) ?? source['blobId'];
    const blob = await readBlobIn(ctx, accountId, id);
    if (!blob) throw setError('blobNotFound', `blob ${id.slice(0, 100)} not found`, { notFound: [id] });
    const offset = source['offset'] ?? 0;
    const length = source['length'] ?? blob.bytes.length - (typeof offset === 'number' ? offset : 0);
    if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !Number.isSafeInteger(length) || (length as number) < 0)
      throw invalidProperties([`${where}/offset`, `${where}/length`], 'offset and length are UnsignedInts');
    if ((offset as number) + (length as number) > blob.bytes.length)
      throw invalidProperties([`${where}/offset`, `${where}/length`], 'the range is outside the blob');
    return blob.bytes.subarray(offset as number, (offset as number) + (length as number));
  }
  throw invalidProperties([where], 'a DataSourceObject has data:asText, data:asBase64, or blobId with offset and length');
}

/**
 * Blob/upload (RFC 9404 §4.1): creates blobs from text, base64 and ranges of other blobs
 * (also ones created earlier in the same call, by `#creationId`), stored byte for byte as uploads.
 */
export const blobUpload: MethodDefinition = {
  capability: CAPABILITIES.blob,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.blob);
    const uploader = await uploadAccount(ctx, accountId);
    const create = args.object('create') ?? {};
    const max = ctx.services.config.jmap.max_size_upload;
    if (Object.keys(create).length > ctx.services.limits.maxObjectsInSet)
      throw new MethodError('requestTooLarge', `at most ${ctx.services.limits.maxObjectsInSet} blobs per call`, {
        limit: 'maxObjectsInSet',
      });
    const created: JsonObject = {};
    const notCreated: Record<string, SetError> = {};
    for (const [cid, spec] of Object.entries(create)) {
      try {
        if (!isObject(spec)) throw invalidProperties([], 'an UploadObject must be an object');
        const extra = Object.keys(spec).filter((k) => k !== 'data' && k !== 'type');
        if (extra.length) throw invalidProperties(extra, 'not an UploadObject property');
        const sources = spec['data'];
        if (!Array.isArray(sources) || sources.length === 0) throw invalidProperties(['data'], 'data is a non-empty array');
        if (sources.length > MAX_DATA_SOURCES)
          throw setError('tooManyDataSources', `at most ${MAX_DATA_SOURCES} data sources`, { maxDataSources: MAX_DATA_SOURCES });
        const type = spec['type'];
        if (type !== undefined && type !== null && typeof type !== 'string') throw invalidProperties(['type']);
        const parts: Buffer[] = [];
        let size = 0;
        for (const [i, source] of sources.entries()) {
          const bytes = await dataSource(ctx, accountId, source, i);
          size += bytes.length;
          if (size > max) throw setError('tooLarge', `the blob would be larger than ${max} octets`, { maxSize: max });
          parts.push(bytes);
        }
        const stored = await storeUpload(ctx.services, uploader, Buffer.concat(parts, size), type ?? undefined);
        created[cid] = { id: stored.blobId, type: stored.type, size: stored.size };
        ctx.created(cid, stored.blobId);
      } catch (err) {
        if (!(err instanceof SetErrorException)) throw err;
        notCreated[cid] = err.error;
      }
    }
    return {
      accountId: ctx.accountId,
      created: Object.keys(created).length ? created : null,
      notCreated: Object.keys(notCreated).length ? (notCreated as unknown as JsonObject) : null,
    };
  },
};
