import os from 'node:os';
import path from 'node:path';

/**
 * Where the client keeps its files (XDG Base Directory Specification: `$XDG_CONFIG_HOME`, else
 * `~/.config`): `fingerpost/accounts/<address>.json` per account and `fingerpost/registrations.json`.
 */
export interface ClientPaths {
  readonly root: string;
  readonly accounts: string;
  readonly registrations: string;
}

/** The client directories for an environment (tests point `XDG_CONFIG_HOME` at a temp dir). */
export function clientPaths(env: NodeJS.ProcessEnv = process.env): ClientPaths {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  const root = path.join(base, 'fingerpost');
  return { root, accounts: path.join(root, 'accounts'), registrations: path.join(root, 'registrations.json') };
}

const SAFE = /[A-Za-z0-9._@+-]/;

/**
 * The file name of an account: the address with the domain lower-cased and every character that
 * is not safe in a file name percent-encoded, so no address can escape the directory.
 */
export function accountFileName(address: string): string {
  let out = '';
  for (const ch of address)
    out += SAFE.test(ch) ? ch : encodeURIComponent(ch).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  if (out.startsWith('.')) out = `%2e${out.slice(1)}`;
  return `${out}.json`;
}

/** The account file and its lock file. */
export function accountPaths(paths: ClientPaths, address: string): { file: string; lock: string } {
  const file = path.join(paths.accounts, accountFileName(address));
  return { file, lock: file.replace(/\.json$/, '.lock') };
}
