// Dependency-direction check for the layout in docs/architecture.md:
//   cli → main → web → admin → protocols|idp|discovery|calendar → auth|mail → directory → store|config|net → core
// Each area may import only the areas listed for it. `client/` (the command-line client) may use
// the pure SASL codecs and discovery's client side, never anything server-side.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', 'src');

const lower = {
  core: [],
  config: ['core'],
  store: ['core'],
  net: ['core', 'auth/sasl'],
  directory: ['core', 'store'],
  auth: ['core', 'config', 'store', 'directory', 'net'],
  mail: ['core', 'config', 'store', 'directory'],
  contacts: ['core', 'config', 'store', 'directory'],
  calendar: ['core', 'config', 'store', 'directory', 'auth', 'mail', 'contacts', 'net', 'discovery/client'],
  discovery: ['core', 'config', 'store', 'directory', 'auth', 'net', 'discovery/client'],
  idp: ['core', 'config', 'store', 'directory', 'auth', 'net'],
  protocols: ['core', 'config', 'store', 'directory', 'auth', 'mail', 'contacts', 'calendar', 'net', 'discovery'],
  admin: ['core', 'config', 'store', 'directory', 'auth', 'mail', 'contacts', 'calendar', 'idp', 'net'],
  // The account page and admin console: HTML over the admin use cases, never SQL of their own.
  web: ['core', 'config', 'directory', 'auth', 'mail', 'contacts', 'calendar', 'discovery', 'idp', 'net', 'admin'],
  main: [
    'core',
    'config',
    'store',
    'directory',
    'auth',
    'mail',
    'contacts',
    'calendar',
    'discovery',
    'idp',
    'protocols',
    'net',
    'admin',
    'web',
  ],
  client: ['core', 'auth/sasl', 'discovery/client'],
  cli: ['*'],
} as const satisfies Record<string, readonly string[]>;

type Area = keyof typeof lower;

/** The area of a file: its first folder under src/, `main` for src/main.ts, or a two-level area. */
function areaOf(file: string): string {
  const rel = path.relative(root, file).split(path.sep);
  if (rel.length === 1) return rel[0]!.replace(/\.ts$/, '');
  if ((rel[0] === 'auth' && rel[1] === 'sasl') || (rel[0] === 'discovery' && rel[1] === 'client')) return `${rel[0]}/${rel[1]}`;
  return rel[0]!;
}

function topOf(area: string): Area {
  if (area === 'auth/sasl') return 'core'; // pure codecs: like core, they import nothing server-side
  if (area === 'discovery/client') return 'core';
  return area as Area;
}

function allowed(from: string, to: string): boolean {
  if (from === to || to.startsWith(`${from}/`)) return true;
  const rules: readonly string[] = lower[topOf(from)] ?? [];
  if (rules.includes('*')) return true;
  if (topOf(from) === 'core' && from !== 'core') return to === 'core' || to === from;
  return rules.some((r) => r === to || to.startsWith(`${r}/`) || (!r.includes('/') && to.split('/')[0] === r));
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else if (full.endsWith('.ts')) yield full;
  }
}

/**
 * Inside protocols/, one protocol never imports another (the line protocols share src/net/
 * instead; what they share of mail, such as submission, lives in src/mail/). The one exception:
 * every HTTP protocol registers on the HTTP server (http/).
 */
const crossProtocol: Record<string, readonly string[]> = {
  '*': ['http/'],
};

/** The protocol a file under src/protocols/ belongs to (its first folder there), or undefined. */
function protocolOf(file: string): string | undefined {
  const rel = path.relative(path.join(root, 'protocols'), file).split(path.sep);
  return rel.length > 1 && rel[0] !== '..' ? rel[0] : undefined;
}

function crossAllowed(file: string, target: string): boolean {
  const from = protocolOf(file);
  const to = protocolOf(target);
  if (!from || !to || from === to) return true;
  const rel = path.relative(path.join(root, 'protocols'), target).split(path.sep).join('/');
  return [...(crossProtocol['*'] ?? []), ...(crossProtocol[from] ?? [])].some((allowedPath) => rel.startsWith(allowedPath));
}

/**
 * Protocols see mail, and every other kind of state, through the use cases and stores of the
 * areas below them: under src/protocols/ no SQL (the `kysely` package), no store internals
 * (`store/db.ts`, `store/schema.ts`) and no query builder of a Db handed over (`.kysely`). The
 * list of files that may still reach storage themselves is empty and only shrinks (a stale entry
 * is an error).
 */
const STORAGE_IMPORTS = [/^kysely$/, /\/store\/db\.ts$/, /\/store\/schema\.ts$/];
const storageExceptions = new Set<string>([]);
const usedExceptions = new Set<string>();

const ANY_IMPORT_RE =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

const IMPORT_RE =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;
const problems: string[] = [];
let files = 0;
for (const file of walk(root)) {
  files++;
  const from = areaOf(file);
  if (!(topOf(from) in lower)) {
    problems.push(`${path.relative(root, file)}: area "${from}" is not in the layer table (scripts/check-layers.ts)`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(root, file).split(path.sep).join('/');
  if (rel.startsWith('protocols/')) {
    for (const m of text.matchAll(ANY_IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!STORAGE_IMPORTS.some((re) => re.test(spec))) continue;
      if (storageExceptions.has(rel)) usedExceptions.add(rel);
      else problems.push(`${rel} imports ${spec}: protocols reach storage only through src/mail and the other areas' stores`);
    }
    // A Db handed over at run time counts too: its query builder is the same back door.
    if (/\.kysely\b/.test(text)) {
      if (storageExceptions.has(rel)) usedExceptions.add(rel);
      else problems.push(`${rel} runs SQL (.kysely): protocols reach storage only through src/mail and the other areas' stores`);
    }
  }
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(root)) continue;
    const to = areaOf(target);
    if (!allowed(from, to)) problems.push(`${path.relative(root, file)} imports ${spec}: ${from} may not depend on ${to}`);
    else if (!crossAllowed(file, target))
      problems.push(
        `${path.relative(root, file)} imports ${spec}: protocols/${protocolOf(file)} may not depend on protocols/${protocolOf(target)}`,
      );
  }
}
for (const rel of storageExceptions)
  if (!usedExceptions.has(rel)) problems.push(`${rel} is listed as a storage exception but no longer needs it: remove it from the list`);
if (problems.length) {
  process.stderr.write(`dependency direction violated (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`layers ok: ${files} files follow the dependency direction\n`);
