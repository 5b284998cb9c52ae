import { isFingerpostError } from '../../../core/errors.ts';
import { mimeParser } from '../../../mail/mime/parse.ts';
import { partAt } from '../../../mail/mime/structure.ts';
import type { MimePart, ParsedMessage } from '../../../mail/mime/types.ts';
import type { JmapServices } from '../context.ts';
import { decodedBody } from '../email/body.ts';
import { parseBlobId } from '../ids.ts';

/** A blob an account may read, with the media type it is known as. */
export interface ReadableBlob {
  readonly bytes: Buffer;
  /** `message/rfc822` for whole messages, the part's type for body parts, the upload's type otherwise. */
  readonly type: string;
}

/**
 * Where an account may find a blob (RFC 8620 §6): a message of its own, or one of its own
 * uploads that has not expired. Blob ids are content hashes, so this check (not the id) is what
 * keeps one account from reading another's data.
 */
export async function blobSource(
  services: JmapServices,
  accountId: number,
  sha: string,
): Promise<{ kind: 'message'; meta: ParsedMessage } | { kind: 'upload'; type: string } | undefined> {
  const message = await services.db.kysely
    .selectFrom('messages')
    .select('meta')
    .where('account_id', '=', accountId)
    .where('blob_id', '=', sha)
    .limit(1)
    .executeTakeFirst();
  if (message) return { kind: 'message', meta: JSON.parse(message.meta) as ParsedMessage };
  const upload = await services.db.kysely
    .selectFrom('jmap_uploads')
    .select('type')
    .where('account_id', '=', accountId)
    .where('blob_id', '=', sha)
    .where('created_at', '>', services.now() - services.config.jmap.upload_ttl)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return upload ? { kind: 'upload', type: upload.type } : undefined;
}

/** Reads a blob (whole, or one MIME part transfer-decoded) if the account may see it. */
export async function readBlob(services: JmapServices, accountId: number, blobId: string): Promise<ReadableBlob | undefined> {
  const ref = parseBlobId(blobId);
  if (!ref) return undefined;
  const source = await blobSource(services, accountId, ref.sha);
  if (!source) return undefined;
  let raw: Buffer;
  try {
    raw = await services.blobs.get(ref.sha);
  } catch (err) {
    if (isFingerpostError(err, 'not_found', 'invalid_argument')) return undefined;
    throw err;
  }
  if (ref.part.length === 0) return { bytes: raw, type: source.kind === 'message' ? 'message/rfc822' : source.type };
  const root = source.kind === 'message' ? source.meta.root : mimeParser.parse(raw).root;
  const found = resolvePart(raw, root, ref.part, 0);
  if (!found) return undefined;
  return { bytes: decodedBody(found.raw, found.part), type: `${found.part.type}/${found.part.subtype}` };
}

const MAX_NESTING = 10;

/**
 * Finds a leaf by IMAP part numbers (RFC 9051 §6.4.5). An attached message the structure parser
 * did not open (one sent base64-encoded) is decoded and parsed on the way, so the part ids
 * Email/parse hands out for it resolve too.
 */
export function resolvePart(
  raw: Buffer,
  root: MimePart,
  numbers: readonly number[],
  depth: number,
): { raw: Buffer; part: MimePart } | null {
  const part = partAt(root, numbers);
  if (part) return part.type === 'multipart' && part.children.length ? null : { raw, part };
  if (depth >= MAX_NESTING) return null;
  for (let i = numbers.length - 1; i >= 1; i--) {
    const outer = partAt(root, numbers.slice(0, i));
    if (!outer || outer.message || outer.type !== 'message' || outer.children.length) continue;
    const inner = decodedBody(raw, outer);
    return resolvePart(inner, mimeParser.parse(inner).root, numbers.slice(i), depth + 1);
  }
  return null;
}
