import { TokenStore } from './store/token-store.ts';
import { clientPaths } from './store/paths.ts';
import { trustCaFile } from './trust.ts';

/** Options every client command takes. */
export interface ClientOptions {
  /** Extra CA certificates (PEM) to trust, e.g. Fingerpost's local CA. */
  readonly ca?: string;
}

/** The token store for this user (XDG config directory) after trusting `--ca`. */
export function clientContext(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): { store: TokenStore } {
  trustCaFile(options.ca);
  return { store: new TokenStore({ paths: clientPaths(env), env }) };
}
