/**
 * The length of a value's JSON text (RFC 8259), counted without building it, so a response or a
 * resolved result reference can be held to a budget (RFC 8620 §8.5) before it is serialized.
 * Escapes inside strings are not counted; the count stops as soon as it passes `limit`.
 */
export function jsonSize(value: unknown, limit: number): number {
  let size = 0;
  // An explicit stack: nesting depth costs heap, never call stack.
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number') size += String(v).length;
    else if (typeof v === 'boolean') size += v ? 4 : 5;
    else if (v === null || v === undefined) size += 4;
    else if (Array.isArray(v)) {
      size += 2 + Math.max(0, v.length - 1);
      // Every item takes at least one more character: give up before queuing a hopeless array.
      if (size + v.length > limit) return Number.POSITIVE_INFINITY;
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      let members = 0;
      for (const k in o) {
        if (!Object.hasOwn(o, k) || o[k] === undefined) continue;
        // "key": plus a comma before every member but the first.
        size += k.length + 3 + (members++ ? 1 : 0);
        stack.push(o[k]);
      }
      size += 2;
    }
    if (size > limit) return Number.POSITIVE_INFINITY;
  }
  return size;
}
