import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { envKeys } from '../config/load.ts';

/**
 * The `FINGERPOST_<SECTION>_<KEY>` variables `fingerpost serve` was started with, recorded in
 * `DATA/server-env.json` (mode 0600: a variable may hold a secret) so that admin commands run
 * later from another shell (`dns`, `doctor`, `admin …`) read the same configuration as the server
 * (docs/configuration.md, "Environment variables"). Their own variables still win.
 */
export const SERVER_ENV_FILE = 'server-env.json';

interface Recorded {
  readonly format: 'fingerpost-server-env';
  readonly startedAt: string;
  readonly variables: Record<string, string>;
}

/** The config variables in `env` (FINGERPOST_CONFIG/DATA and the client's are not config keys). */
export function configVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const keys = envKeys();
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => keys.has(e[0]) && e[1] !== undefined));
}

/** Writes the record at start (atomically), replacing the previous start's. */
export function recordServerEnv(dataDir: string, env: NodeJS.ProcessEnv, now = new Date()): void {
  const file = path.join(dataDir, SERVER_ENV_FILE);
  const body: Recorded = { format: 'fingerpost-server-env', startedAt: now.toISOString(), variables: configVariables(env) };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The server's recorded variables, or undefined when no server recorded any (or the file is not ours). */
export function readServerEnv(dataDir: string): { startedAt: string; variables: Record<string, string> } | undefined {
  try {
    const v = JSON.parse(readFileSync(path.join(dataDir, SERVER_ENV_FILE), 'utf8')) as Recorded;
    if (v?.format !== 'fingerpost-server-env' || typeof v.variables !== 'object' || !v.variables) return undefined;
    const keys = envKeys();
    const variables = Object.fromEntries(Object.entries(v.variables).filter(([k, val]) => keys.has(k) && typeof val === 'string'));
    return { startedAt: String(v.startedAt), variables };
  } catch {
    return undefined;
  }
}

/**
 * The environment an admin command loads its config with: the server's recorded variables under
 * this shell's own. `notice` names the variables taken from the server (never their values).
 */
export function adminEnv(dataDir: string, env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; notice: string | undefined } {
  const recorded = readServerEnv(dataDir);
  if (!recorded) return { env, notice: undefined };
  const taken = Object.keys(recorded.variables).filter((k) => env[k] === undefined);
  const differ = Object.keys(configVariables(env)).filter((k) => recorded.variables[k] !== undefined && recorded.variables[k] !== env[k]);
  const parts: string[] = [];
  if (taken.length)
    parts.push(`using ${taken.join(', ')} from the server started ${recorded.startedAt} (${path.join(dataDir, SERVER_ENV_FILE)})`);
  if (differ.length)
    parts.push(
      `this shell's ${differ.join(', ')} differ${differ.length === 1 ? 's' : ''} from the server's and win${differ.length === 1 ? 's' : ''} here`,
    );
  return { env: { ...recorded.variables, ...env }, notice: parts.length ? `fingerpost: config: ${parts.join('; ')}` : undefined };
}
