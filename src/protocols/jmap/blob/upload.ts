import type { JmapServices } from '../context.ts';
import { toBlobId } from '../ids.ts';

/** A finished upload as RFC 8620 §6.1 answers it. */
export interface UploadResult {
  readonly blobId: string;
  readonly type: string;
  readonly size: number;
}

/** A media type is kept only when it is a plausible `type/subtype`; anything else is octet-stream. */
export function cleanMediaType(value: string | undefined): string {
  const type = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(type) ? type : 'application/octet-stream';
}

/** Stores uploaded bytes durably and records them for the account only (RFC 8620 §6.1). */
export async function storeUpload(
  services: JmapServices,
  accountId: number,
  bytes: Buffer,
  contentType: string | undefined,
): Promise<UploadResult> {
  const type = cleanMediaType(contentType);
  const { jmap } = services.config;
  const sha = await services.mail.uploads.add(accountId, bytes, type, { ttlMs: jmap.upload_ttl, quotaBytes: jmap.upload_quota });
  return { blobId: toBlobId(sha), type, size: bytes.length };
}
