import { isObject, type JsonObject } from './args.ts';
import { MethodError } from './errors.ts';
import type { JsonValue } from './i-json.ts';

/** A response already produced in this request: `[name, arguments, methodCallId]`. */
export type Invocation = [string, JsonObject, string];

function fail(description: string): MethodError {
  return new MethodError('invalidResultReference', description);
}

/** Splits a JSON Pointer (RFC 6901 §3–§4) into unescaped reference tokens. */
function tokens(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw fail(`path ${JSON.stringify(path)} is not a JSON Pointer`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * Evaluates a JSON Pointer with the JMAP `*` extension (RFC 8620 §3.7): `*` on an array maps the
 * rest of the pointer over every item and flattens arrays of arrays into one array.
 */
export function evaluatePointer(value: JsonValue, path: string): JsonValue {
  const walk = (current: JsonValue, rest: readonly string[]): JsonValue => {
    if (rest.length === 0) return current;
    const [token, ...tail] = rest as [string, ...string[]];
    if (Array.isArray(current)) {
      if (token === '*') {
        const out: JsonValue[] = [];
        for (const item of current) {
          const r = walk(item, tail);
          if (Array.isArray(r)) out.push(...r);
          else out.push(r);
        }
        return out;
      }
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= current.length) throw fail(`no array item ${token}`);
      return walk(current[Number(token)]!, tail);
    }
    if (isObject(current) && Object.hasOwn(current, token)) return walk(current[token]!, tail);
    throw fail(`path segment ${JSON.stringify(token)} does not exist`);
  };
  return walk(value, tokens(path));
}

/**
 * Replaces every `#name` argument by the value its ResultReference points to in an earlier
 * response of the same request (RFC 8620 §3.7). Both `name` and `#name` present is
 * `invalidArguments`; an unresolvable reference is `invalidResultReference`.
 */
export function resolveReferences(args: JsonObject, responses: readonly Invocation[]): JsonObject {
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
    if (!source) throw fail(`no earlier response with method call id ${JSON.stringify(ref['resultOf'])}`);
    if (source[0] !== ref['name']) throw fail(`the response to ${JSON.stringify(ref['resultOf'])} is ${source[0]}, not ${ref['name']}`);
    out ??= { ...args };
    delete out[key];
    Object.defineProperty(out, name, {
      value: evaluatePointer(source[1], ref['path']),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out ?? args;
}
