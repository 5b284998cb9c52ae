import { createHash } from 'node:crypto';
import type { JsonObject } from '../args.ts';
import { CAPABILITIES, DIGEST_ALGORITHMS } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { getIds } from '../standard.ts';
import { readBlobIn } from '../sharing/shared-blobs.ts';

const DEFAULT_PROPERTIES = ['data', 'size'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of bytes that are valid UTF-8, else undefined. */
function asText(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function checkProperty(p: unknown): string {
  if (typeof p !== 'string') throw invalidArguments('properties must be strings');
  if (p === 'data' || p === 'data:asText' || p === 'data:asBase64' || p === 'size') return p;
  if (p.startsWith('digest:') && DIGEST_ALGORITHMS.has(p.slice(7))) return p;
  throw invalidArguments(`unknown property ${JSON.stringify(p.slice(0, 100))}`);
}

/**
 * Blob/get (RFC 9404 §4.2): a blob's bytes as text (`isEncodingProblem` when they are not UTF-8)
 * or base64, its size and digests, over the `offset`/`length` range (`isTruncated` when the range
 * runs past the end). The bytes are the stored ones, unchanged.
 */
export const blobGet: MethodDefinition = {
  capability: CAPABILITIES.blob,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.blob);
    const ids = getIds(args, ctx);
    if (ids === null) throw invalidArguments('ids must be given: blobs cannot be listed');
    const raw = args.raw['properties'];
    if (raw !== undefined && raw !== null && !Array.isArray(raw)) throw invalidArguments('properties must be an array');
    const properties = raw ? [...new Set((raw as unknown[]).map(checkProperty))] : DEFAULT_PROPERTIES;
    const offset = args.uint('offset', 0);
    const length = args.uint('length');
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    let total = 0;
    for (const id of ids) {
      const blob = await readBlobIn(ctx, accountId, id);
      if (!blob) {
        notFound.push(id);
        continue;
      }
      const end = length === undefined ? blob.bytes.length : Math.min(blob.bytes.length, offset + length);
      const bytes = blob.bytes.subarray(Math.min(offset, blob.bytes.length), end);
      total += bytes.length;
      if (total > ctx.services.config.jmap.max_size_request * 4)
        throw new MethodError('requestTooLarge', 'ask for fewer blobs or a smaller range', { limit: 'maxSizeRequest' });
      const out: JsonObject = { id };
      for (const p of properties) {
        if (p === 'size') out['size'] = blob.bytes.length;
        else if (p === 'data:asBase64') out['data:asBase64'] = bytes.toString('base64');
        else if (p === 'data:asText') {
          const text = asText(bytes);
          out['data:asText'] = text ?? null;
          if (text === undefined) out['isEncodingProblem'] = true;
        } else if (p === 'data') {
          const text = asText(bytes);
          if (text === undefined) {
            out['data:asBase64'] = bytes.toString('base64');
            out['isEncodingProblem'] = true;
          } else out['data:asText'] = text;
        } else {
          out[p] = createHash(DIGEST_ALGORITHMS.get(p.slice(7))!)
            .update(bytes)
            .digest('base64');
        }
      }
      if (offset > blob.bytes.length || (length !== undefined && offset + length > blob.bytes.length)) out['isTruncated'] = true;
      list.push(out);
    }
    return { accountId: ctx.accountId, list, notFound };
  },
};
