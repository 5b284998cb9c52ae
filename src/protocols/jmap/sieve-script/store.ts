import { createHash } from 'node:crypto';
import { compile } from '../../../mail/sieve/validate.ts';
import type { SieveScripts, StoredScript } from '../../../mail/sieve/scripts.ts';
import type { ReadableBlob } from '../blob/access.ts';
import type { JmapServices, MethodContext } from '../context.ts';
import { MethodError, type SetError } from '../errors.ts';
import { parseBlobId, toBlobId, toId } from '../ids.ts';
import { readBlobIn } from '../sharing/shared-blobs.ts';

/** The media type a script blob is served as (RFC 5804 §1.1, RFC 9661 §2.1 `blobId`). */
export const SIEVE_MEDIA_TYPE = 'application/sieve';

/** The SieveScript properties (RFC 9661 §2.1). */
export const SCRIPT_PROPERTIES = ['id', 'name', 'blobId', 'isActive'] as const;

/** The SHA-256 of a script's bytes, which names its blob. */
export function scriptSha(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** A stored script as a SieveScript object (RFC 9661 §2.1). */
export function scriptObject(s: StoredScript): { id: string; name: string; blobId: string; isActive: boolean } {
  return { id: toId('sieveScript', s.id), name: s.name, blobId: toBlobId(scriptSha(s.content)), isActive: s.active };
}

/** The script store, or `unknownMethod` on a node built without one. */
export function scriptStore(ctx: MethodContext): SieveScripts {
  const store = ctx.services.sieve;
  if (!store) throw new MethodError('unknownMethod', 'Sieve scripts are not kept on this server');
  return store;
}

/** Every script of the account with its content, ordered by name. */
export function loadScripts(store: SieveScripts, accountId: number): Promise<StoredScript[]> {
  return store.listWithContent(accountId);
}

/**
 * The SieveScript state (RFC 8620 §5.1): a digest of every script's id, name, content and active
 * mark, so any change gives a new state (there is no change log; /changes across states is refused).
 */
export function scriptsState(scripts: readonly StoredScript[]): string {
  const h = createHash('sha256');
  for (const s of scripts) h.update(`${s.id}\0${s.name}\0${s.active ? 1 : 0}\0${scriptSha(s.content)}\n`);
  return `V${h.digest('base64url').slice(0, 22)}`;
}

/** A script of `accountId` whose bytes are blob `blobId` (RFC 9661 §2.2: its content is a downloadable blob). */
export async function sieveScriptBlob(services: JmapServices, accountId: number, blobId: string): Promise<ReadableBlob | undefined> {
  const ref = parseBlobId(blobId);
  if (!ref || ref.part.length || !services.sieve) return undefined;
  const found = (await loadScripts(services.sieve, accountId)).find((s) => scriptSha(s.content) === ref.sha);
  return found && { bytes: Buffer.from(found.content, 'utf8'), type: SIEVE_MEDIA_TYPE };
}

/** The bytes behind a blobId a SieveScript/set or /validate names: an upload, or an existing script. */
export async function scriptSource(ctx: MethodContext, accountId: number, blobId: string): Promise<Buffer | undefined> {
  const id = ctx.resolveId(blobId) ?? blobId;
  const blob = (await readBlobIn(ctx, accountId, id)) ?? (await sieveScriptBlob(ctx.services, accountId, id));
  return blob?.bytes;
}

/**
 * Compiles script bytes as delivery will run them; a refusal is the SetError `invalidSieve`
 * (RFC 9661 §2.4, §2.6) with the compiler's message, or `tooLarge` over `[sieve] max_script_size`.
 */
export function checkScript(services: JmapServices, bytes: Buffer): { content: string } | { error: SetError } {
  const { sieve } = services.config;
  if (bytes.length > sieve.max_script_size)
    return { error: { type: 'tooLarge', description: `scripts are limited to ${sieve.max_script_size} octets` } };
  const content = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (Buffer.from(content, 'utf8').compare(bytes) !== 0) return { error: { type: 'invalidSieve', description: 'a script must be UTF-8' } };
  try {
    compile(content, { maxBytes: sieve.max_script_size, maxDepth: sieve.max_nesting });
  } catch (err) {
    return { error: { type: 'invalidSieve', description: (err as Error).message } };
  }
  return { content };
}
