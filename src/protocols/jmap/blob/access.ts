import { isFingerpostError } from '../../../core/errors.ts';
import { mimeParser } from '../../../mail/mime/parse.ts';
import { partAt } from '../../../mail/mime/structure.ts';
import type { MimePart } from '../../../mail/mime/types.ts';
import type { JmapServices } from '../context.ts';
import { decodedBody } from '../email/body.ts';
import { parseBlobId } from '../ids.ts';

/** A blob an account may read, with the media type it is known as. */
export interface ReadableBlob {
  readonly bytes: Buffer;
  /** `message/rfc822` for whole messages, the part's type for body parts, the upload's type otherwise. */
  readonly type: string;
}

/** Reads a blob (whole, or one MIME part transfer-decoded) if the account may see it. */
export async function readBlob(services: JmapServices, accountId: number, blobId: string): Promise<ReadableBlob | undefined> {
  const ref = parseBlobId(blobId);
  if (!ref) return undefined;
  const source = await services.mail.uploads.source(accountId, ref.sha, services.config.jmap.upload_ttl);
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
