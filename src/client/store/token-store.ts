import { readdir, rm } from 'node:fs/promises';
import { localProblem, signInNeeded } from '../errors.ts';
import {
  type AccountFile,
  AccountFileError,
  type AccountSecret,
  parseAccountFile,
  parseSecret,
  SECRET_FORMAT,
  type SecretBody,
} from './account.ts';
import { type BackendContext, backendFor, type SecretBackend } from './backends.ts';
import { readIfExists, tooOpen, writeFileAtomic } from './files.ts';
import { type LockOptions, LockTimeout, withLock } from './lock.ts';
import { agentFor } from '../agent/client.ts';
import { passphraseSource } from './passphrase.ts';
import { accountPaths, type ClientPaths } from './paths.ts';
import { temporaryFailure } from '../errors.ts';

/**
 * The token store: one account file per address under the XDG config directory,
 * mode 0600, written atomically; the secret part sealed by the account's backend; a per-account
 * lock for anything that reads, refreshes and writes back.
 */
export interface TokenStoreOptions {
  readonly paths: ClientPaths;
  readonly env?: NodeJS.ProcessEnv;
  /** Overrides the terminal prompt for the age passphrase (tests). */
  readonly prompt?: (question: string) => Promise<string>;
  readonly lock?: LockOptions;
}

export class TokenStore {
  readonly paths: ClientPaths;
  readonly #options: TokenStoreOptions;
  readonly #backends = new Map<string, SecretBackend>();

  constructor(options: TokenStoreOptions) {
    this.paths = options.paths;
    this.#options = options;
  }

  /** The account file of `address`; sign-in needed (exit 2) when there is none. */
  async load(address: string): Promise<AccountFile> {
    const { file } = accountPaths(this.paths, address);
    const text = await readIfExists(file);
    if (text === undefined) throw signInNeeded(address, 'no stored sign-in');
    try {
      return parseAccountFile(text, address);
    } catch (err) {
      if (err instanceof AccountFileError)
        throw localProblem(`${file} is not usable: ${err.message}`, `move it away and sign in again: fingerpost login ${address}`);
      throw err;
    }
  }

  /** Whether `address` has an account file (of any state). */
  async exists(address: string): Promise<boolean> {
    return (await readIfExists(accountPaths(this.paths, address).file)) !== undefined;
  }

  /** True when the account file can be read by other users (it should be 0600). */
  async tooOpen(address: string): Promise<boolean> {
    return tooOpen(accountPaths(this.paths, address).file);
  }

  /** Opens the sealed secret of an account (may ask for the passphrase). */
  async openSecret(account: AccountFile): Promise<AccountSecret> {
    const text = await this.#backend(account).open(account.sealed);
    try {
      return parseSecret(text, account);
    } catch (err) {
      if (err instanceof AccountFileError)
        throw localProblem(
          `the token file of ${account.address} is not usable: ${err.message}`,
          `sign in again: fingerpost login ${account.address}`,
        );
      throw err;
    }
  }

  /** Seals `secret` and writes the account file atomically (mode 0600). */
  async save(account: AccountFile, secret: SecretBody): Promise<AccountFile> {
    const full: AccountSecret = { format: SECRET_FORMAT, address: account.address, issuer: account.issuer, ...secret };
    const sealed = await this.#backend(account).seal(JSON.stringify(full));
    const next: AccountFile = { ...account, sealed };
    await writeFileAtomic(accountPaths(this.paths, account.address).file, `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }

  /** Asks for what sealing this account will need (a new passphrase) before a sign-in starts. */
  async prepare(account: Pick<AccountFile, 'address' | 'issuer' | 'store'>): Promise<void> {
    await this.#backend(account).prepare();
  }

  /** Runs `fn` holding the account's lock (concurrent refreshes wait for each other). */
  async locked<T>(address: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withLock(accountPaths(this.paths, address).lock, fn, this.#options.lock);
    } catch (err) {
      if (err instanceof LockTimeout) throw temporaryFailure(err.message);
      throw err;
    }
  }

  /** Addresses with an account file. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.paths.accounts);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => decodeURIComponent(n.slice(0, -5)))
      .sort();
  }

  /** Deletes an account's file and any secret kept outside it. */
  async remove(account: AccountFile): Promise<void> {
    await this.#backend(account).remove();
    await rm(accountPaths(this.paths, account.address).file, { force: true });
  }

  #backend(account: Pick<AccountFile, 'address' | 'issuer' | 'store'>): SecretBackend {
    const key = `${account.address}\n${account.issuer}\n${JSON.stringify(account.store)}`;
    let b = this.#backends.get(key);
    if (!b) {
      const ctx: BackendContext = {
        address: account.address,
        issuer: account.issuer,
        env: this.#options.env,
        ...(account.store.kind === 'age' ? { agent: agentFor(accountPaths(this.paths, account.address).file, this.#options.env) } : {}),
        passphrase: passphraseSource({
          address: account.address,
          command: account.store.kind === 'age' ? account.store.passphraseCommand : undefined,
          env: this.#options.env,
          prompt: this.#options.prompt,
        }),
      };
      b = backendFor(account.store, ctx);
      this.#backends.set(key, b);
    }
    return b;
  }
}
