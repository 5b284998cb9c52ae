import { isObject, type JsonObject } from './args.ts';
import { MethodError } from './errors.ts';
import type { JsonValue } from './i-json.ts';
import { jsonSize } from './json-size.ts';

/** A response already produced in this request: `[name, arguments, methodCallId]`. */
export type Invocation = [string, JsonObject, string];

/** How much the result references of one request may still resolve to, in characters of JSON. */
export interface ReferenceBudget {
  remaining: number;
}

/** Path segments a reference may have: responses are never deeper than I-JSON's nesting limit allows. */
const MAX_SEGMENTS = 256;

function fail(description: string): MethodError {
  return new MethodError('invalidResultReference', description);
}

/** Splits a JSON Pointer (RFC 6901 §3–§4) into unescaped reference tokens. */
function tokens(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw fail(`path ${JSON.stringify(path.slice(0, 100))} is not a JSON Pointer`);
  let segments = 1;
  for (let i = 1; i < path.length; i++) if (path.charCodeAt(i) === 0x2f && ++segments > MAX_SEGMENTS) break;
  if (segments > MAX_SEGMENTS) throw fail(`a path may have at most ${MAX_SEGMENTS} segments`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * Evaluates a JSON Pointer with the JMAP `*` extension (RFC 8620 §3.7): `*` on an array maps the
 * rest of the pointer over every item and flattens arrays of arrays into one array. Items are
 * appended one by one (never spread as call arguments), so an array of any length is fine.
 */
export function evaluatePointer(value: JsonValue, path: string): JsonValue {
  const walk = (current: JsonValue, rest: readonly string[], at: number): JsonValue => {
    if (at === rest.length) return current;
    const token = rest[at]!;
    if (Array.isArray(current)) {
      if (token === '*') {
        const out: JsonValue[] = [];
        for (const item of current) {
          const r = walk(item, rest, at + 1);
          if (Array.isArray(r)) for (const x of r) out.push(x);
          else out.push(r);
        }
        return out;
      }
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= current.length) throw fail(`no array item ${token.slice(0, 20)}`);
      return walk(current[Number(token)]!, rest, at + 1);
    }
    if (isObject(current) && Object.hasOwn(current, token)) return walk(current[token]!, rest, at + 1);
    throw fail(`path segment ${JSON.stringify(token.slice(0, 100))} does not exist`);
  };
  return walk(value, tokens(path), 0);
}

/**
 * Replaces every `#name` argument by the value its ResultReference points to in an earlier
 * response of the same request (RFC 8620 §3.7). Both `name` and `#name` present is
 * `invalidArguments`; an unresolvable reference is `invalidResultReference`. What the references
 * of one request resolve to is charged to `budget` (RFC 8620 §8.5): past it, `requestTooLarge`.
 */
export function resolveReferences(
  args: JsonObject,
  responses: readonly Invocation[],
  budget: ReferenceBudget = { remaining: Number.POSITIVE_INFINITY },
): JsonObject {
  let out: JsonObject | undefined;
  for (const key of Object.keys(args)) {
    if (!key.startsWith('#')) continue;
    const name = key.slice(1);
    if (Object.hasOwn(args, name)) throw new MethodError('invalidArguments', `both ${name} and #${name} are given`);
    const ref = args[key];
    if (!isObject(ref) || typeof ref['resultOf'] !== 'string' || typeof ref['name'] !== 'string' || typeof ref['path'] !== 'string') {
      throw fail(`#${name} is not a ResultReference`);
    }
    const source = responses.find((r) => r[2] === ref['resultOf']);
    if (!source) throw fail(`no earlier response with method call id ${JSON.stringify(ref['resultOf'].slice(0, 100))}`);
    if (source[0] !== ref['name'])
      throw fail(`the response to ${JSON.stringify(ref['resultOf'].slice(0, 100))} is ${source[0]}, not ${ref['name'].slice(0, 100)}`);
    const value = evaluatePointer(source[1], ref['path']);
    const size = jsonSize(value, budget.remaining);
    if (size > budget.remaining) {
      throw new MethodError('requestTooLarge', 'the result references of this request resolve to more than maxSizeRequest allows', {
        limit: 'maxSizeRequest',
      });
    }
    budget.remaining -= size;
    out ??= { ...args };
    delete out[key];
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out ?? args;
}
