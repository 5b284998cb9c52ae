import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { FingerpostError } from '../core/errors.ts';
import { type Config, freezeConfig } from './config.ts';
import { configSchema } from './schema.ts';

type LeafKind = 'string' | 'number' | 'boolean' | 'string-array' | 'duration';

interface EnvKey {
  readonly path: readonly string[];
  readonly kind: LeafKind;
}

// biome-ignore lint/suspicious/noExplicitAny: walking zod's internal definition tree
type AnySchema = any;

function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const t = s._zod.def.type;
    if (t === 'default' || t === 'prefault' || t === 'optional' || t === 'nullable') s = s._zod.def.innerType;
    else if (t === 'pipe') s = s._zod.def.in;
    else return s;
  }
}

function leafKind(schema: AnySchema): LeafKind | 'object' | undefined {
  const s = unwrap(schema);
  const t = s._zod.def.type as string;
  if (t === 'object') return 'object';
  if (t === 'string' || t === 'enum') return 'string';
  if (t === 'number') return 'number';
  if (t === 'boolean') return 'boolean';
  if (t === 'union') return 'duration';
  if (t === 'array') return leafKind(s._zod.def.element) === 'string' ? 'string-array' : undefined;
  return undefined;
}

/** Every scalar config key as `FINGERPOST_<SECTION>_<KEY>` (nested keys joined by `_`). */
export function envKeys(): Map<string, EnvKey> {
  const out = new Map<string, EnvKey>();
  const walk = (schema: AnySchema, at: string[]) => {
    for (const [key, child] of Object.entries(unwrap(schema).shape as Record<string, AnySchema>)) {
      const kind = leafKind(child);
      const here = [...at, key];
      if (kind === 'object') walk(child, here);
      else if (kind) out.set(`FINGERPOST_${here.join('_').toUpperCase()}`, { path: here, kind });
    }
  };
  walk(configSchema, []);
  return out;
}

/**
 * `FINGERPOST_<SECTION>_…` variables that name a config section but no key in it: a typo there
 * would otherwise be ignored silently. Other `FINGERPOST_` variables (CONFIG, DATA, the client's)
 * are not config keys and are left alone.
 */
function unknownEnvOverrides(env: NodeJS.ProcessEnv, keys: ReadonlyMap<string, EnvKey>): string[] {
  const sections = new Set([...keys.values()].map((k) => `FINGERPOST_${k.path[0]!.toUpperCase()}_`));
  return Object.keys(env).filter((name) => !keys.has(name) && [...sections].some((prefix) => name.startsWith(prefix)));
}

function envValue(kind: LeafKind, raw: string): unknown {
  switch (kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    case 'boolean':
      return /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw;
    case 'string-array':
      return raw === '' ? [] : raw.split(',').map((s) => s.trim());
    case 'duration':
      return /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, at: readonly string[], value: unknown): void {
  let node = target;
  for (const key of at.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[at.at(-1)!] = value;
}

function getPath(source: unknown, at: readonly PropertyKey[]): unknown {
  let node = source;
  for (const key of at) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Keys whose values are secrets (`auth.gateway.secret`, `queue.smarthost_password`, an issuer's `client_secret`). */
const SECRET_KEY = /(^|_)(secret|password|secret_access_key)$/;

/**
 * The value an error message may show: secrets replaced by `***`, also inside an object the issue
 * is about (`auth.gateway`), and the password of a URL (`store.url`) hidden. Start-up errors go to
 * stderr and from there to journals and CI logs.
 */
function hideSecrets(value: unknown, key: PropertyKey | undefined): unknown {
  // Any shape: a secret given by mistake as a number or a list is still a secret.
  if (typeof key === 'string' && SECRET_KEY.test(key)) return value === undefined || value === '' ? value : '***';
  if (typeof value === 'string') return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@');
  if (Array.isArray(value)) return value.map((v) => hideSecrets(v, undefined));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hideSecrets(v, k)]));
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, fileOrigin: string, fromEnv: ReadonlyMap<string, string>): string {
  const keyPath = issue.path.map(String).join('.') || '(top level)';
  const envName = [...fromEnv].find(([at]) => keyPath === at || keyPath.startsWith(`${at}.`))?.[1];
  // An issue about a whole section (auth.gateway) names the variables that set keys inside it.
  const inside = [...fromEnv].filter(([at]) => at.startsWith(`${keyPath}.`)).map(([, name]) => name);
  const fromInside = inside.length ? `environment variable${inside.length > 1 ? 's' : ''} ${inside.join(', ')}` : undefined;
  const origin = envName
    ? `environment variable ${envName}`
    : fromInside
      ? fileOrigin === 'defaults'
        ? fromInside
        : `${fileOrigin} and ${fromInside}`
      : fileOrigin;
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${keyPath}.` : '';
    return `unknown config key ${issue.keys.map((k) => where + k).join(', ')} in ${origin}: remove it or check the spelling against docs/configuration.md`;
  }
  const value = hideSecrets(getPath(input, issue.path), issue.path.at(-1));
  const shown = value === undefined ? '(missing)' : JSON.stringify(value);
  return `config key ${keyPath} = ${shown} in ${origin}: ${issue.message}`;
}

export interface LoadOptions {
  /** A TOML file; when absent, DATA/fingerpost.toml is read if it exists. */
  readonly file?: string | undefined;
  readonly dataDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values that win over the file and the environment (command-line flags, tests). */
  readonly overrides?: Record<string, unknown>;
}

function readToml(file: string, required: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return {};
    throw new FingerpostError('config_invalid', `cannot read config file ${file}: ${(err as Error).message}`, {
      hint: 'pass an existing file with --config or FINGERPOST_CONFIG',
    });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new FingerpostError('config_invalid', `config file ${file} is not valid TOML: ${first}`, {
      hint: 'fix the syntax at the line shown',
    });
  }
}

function mergeDeep(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      existing &&
      typeof existing === 'object' &&
      !Array.isArray(existing)
    ) {
      mergeDeep(existing as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      into[key] = value;
    }
  }
}

/**
 * Reads TOML, applies `FINGERPOST_<SECTION>_<KEY>` environment overrides and explicit overrides,
 * validates everything with the one schema and returns the immutable snapshot. Every problem is
 * reported at once, each as a line naming the key path, the value and what is expected.
 */
export function loadConfig(options: LoadOptions): Config {
  const env = options.env ?? process.env;
  const dataDir = path.resolve(options.dataDir);
  const file = options.file ? path.resolve(options.file) : path.join(dataDir, 'fingerpost.toml');
  const input = readToml(file, Boolean(options.file));
  const origin = Object.keys(input).length ? file : 'defaults';
  const fromEnv = new Map<string, string>();
  const keys = envKeys();
  for (const [name, key] of keys) {
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(input, key.path, envValue(key.kind, raw));
    fromEnv.set(key.path.join('.'), name);
  }
  const misspelt = unknownEnvOverrides(env, keys);
  if (misspelt.length) {
    const lines = misspelt.map(
      (name) =>
        `unknown environment variable ${name}: no config key by that name; check the spelling against docs/configuration.md or unset it`,
    );
    throw new FingerpostError('config_invalid', lines.join('\n'), { context: { file } });
  }
  if (options.overrides) mergeDeep(input, structuredClone(options.overrides));
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, input, origin, fromEnv));
    throw new FingerpostError('config_invalid', lines.join('\n'), { context: { file } });
  }
  return freezeConfig(result.data, { dataDir, file: Object.keys(input).length ? file : undefined });
}
