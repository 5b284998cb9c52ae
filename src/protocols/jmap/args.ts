import { parseDate } from './dates.ts';
import { invalidArguments } from './errors.ts';
import type { JsonValue } from './i-json.ts';
import { isJmapId } from './ids.ts';

/** A JSON object as method arguments arrive (after result references are resolved). */
export type JsonObject = { [key: string]: JsonValue };

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Typed reads of method arguments (RFC 8620 §3.3, §3.5): omitted arguments and `null` take the
 * default; a value of the wrong type throws `invalidArguments` naming the argument.
 */
export class Args {
  readonly raw: JsonObject;

  constructor(raw: JsonObject) {
    this.raw = raw;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  #get(name: string): JsonValue | undefined {
    const v = this.raw[name];
    return v === null ? undefined : v;
  }

  string(name: string): string | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalidArguments(`${name} must be a string`);
    return v;
  }

  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw invalidArguments(`${name} is required`);
    return v;
  }

  id(name: string): string | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (!isJmapId(v)) throw invalidArguments(`${name} must be an Id`);
    return v;
  }

  requiredId(name: string): string {
    const v = this.id(name);
    if (v === undefined) throw invalidArguments(`${name} is required`);
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.#get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw invalidArguments(`${name} must be a boolean`);
    return v;
  }

  /** An `Int` (RFC 8620 §1.3). */
  int(name: string, fallback: number): number;
  int(name: string): number | undefined;
  int(name: string, fallback?: number): number | undefined {
    const v = this.#get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArguments(`${name} must be an Int`);
    return v;
  }

  /** An `UnsignedInt` (RFC 8620 §1.3). */
  uint(name: string, fallback: number): number;
  uint(name: string): number | undefined;
  uint(name: string, fallback?: number): number | undefined {
    const v = this.int(name);
    if (v === undefined) return fallback;
    if (v < 0) throw invalidArguments(`${name} must be an UnsignedInt`);
    return v;
  }

  /** An `Id[]` or null (undefined). */
  ids(name: string): string[] | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every(isJmapId)) throw invalidArguments(`${name} must be an array of Ids`);
    return v as string[];
  }

  strings(name: string): string[] | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalidArguments(`${name} must be an array of strings`);
    return v as string[];
  }

  object(name: string): JsonObject | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (!isObject(v)) throw invalidArguments(`${name} must be an object`);
    return v;
  }

  array(name: string): JsonValue[] | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw invalidArguments(`${name} must be an array`);
    return v;
  }

  /** A `UTCDate`. */
  utcDate(name: string): number | undefined {
    const v = this.#get(name);
    if (v === undefined) return undefined;
    const ms = parseDate(v, true);
    if (ms === undefined) throw invalidArguments(`${name} must be a UTCDate`);
    return ms;
  }
}
