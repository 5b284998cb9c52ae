import { isObject, type JsonObject } from './args.ts';
import { setError } from './errors.ts';
import type { JsonValue } from './i-json.ts';

/**
 * Applies a PatchObject (RFC 8620 §5.3) to a copy of `current`: each key is a JSON Pointer
 * without the leading `/` that may not point into an array nor be a prefix of another key;
 * `null` removes the member (resets to the default). Faults are `invalidPatch` SetErrors.
 */
export function applyPatch(current: JsonObject, patch: JsonObject): JsonObject {
  const paths = Object.keys(patch);
  const segmented = paths.map((p) => ({ path: p, segments: p.split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')) }));
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && b.startsWith(`${a}/`)) throw setError('invalidPatch', `patch paths ${a} and ${b} overlap`);
    }
  }
  const out = structuredClone(current) as JsonObject;
  for (const { path, segments } of segmented) {
    if (segments.some((s) => s === '')) throw setError('invalidPatch', `empty segment in ${JSON.stringify(path)}`);
    let target: JsonValue = out;
    for (const seg of segments.slice(0, -1)) {
      if (!isObject(target)) throw setError('invalidPatch', `${path} does not point into an object`);
      let next: JsonValue | undefined = target[seg];
      if (next === undefined || next === null) {
        // RFC 8620 §5.3: a path into a missing map member creates it (e.g. "keywords/$seen" on {}).
        next = {};
        Object.defineProperty(target, seg, { value: next, enumerable: true, writable: true, configurable: true });
      }
      target = next;
    }
    if (!isObject(target)) throw setError('invalidPatch', `${path} does not point into an object`);
    const last = segments.at(-1)!;
    const value = patch[path]!;
    if (value === null) delete target[last];
    else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
