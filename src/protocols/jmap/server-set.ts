import { isDeepStrictEqual } from 'node:util';
import type { JsonObject } from './args.ts';
import { applyPatch } from './patch.ts';

/** The top-level property a PatchObject path (RFC 8620 §5.3) names: `myRights/mayDelete` → `myRights`. */
export function patchProperty(path: string): string {
  return path.split('/')[0]!.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Equal JSON values; a removed member (a patch's null, RFC 8620 §5.3) equals a null one. */
export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a ?? null, b ?? null);
}

/**
 * The properties in `fixed` (server-set or immutable ones) that `patch` would change on `current`
 * (RFC 8620 §5.3: a server-set property may be in a patch only with the value it has, so a client
 * can send a whole object back). Unchanged ones are fine; each changed one is listed once.
 */
export function changedFixedProperties(current: JsonObject, patch: JsonObject, fixed: (property: string) => boolean): string[] {
  const next = applyPatch(current, patch);
  const touched = new Set(Object.keys(patch).map(patchProperty));
  return [...touched].filter((p) => fixed(p) && !sameValue(next[p], current[p]));
}
