import { localProblem } from '../errors.ts';
import type { StoreChoice } from './account.ts';
import type { AgentClient } from '../agent/client.ts';
import { AgeFormatError, openScryptAge } from './age-open.ts';
import { deriveKey, NativeScryptRecipient } from './age-scrypt.ts';
import { firstLine, runCommand } from './run.ts';

/**
 * The secret backends: a passphrase (age), the user's own encrypt and
 * decrypt commands (gpg, pass), the desktop keyring through `secret-tool` (libsecret), or — only
 * when asked for — the bare file (mode 0600). Each seals and opens the JSON secret of one account.
 */
export interface SecretBackend {
  /** Seals the plaintext; returns what goes into the account file's `sealed` field. */
  seal(plaintext: string): Promise<string>;
  /** Opens what `seal` returned. Throws a clear local problem (exit 1) when it cannot. */
  open(sealed: string): Promise<string>;
  /** Removes a secret kept outside the file (keyring); nothing for the others. */
  remove(): Promise<void>;
  /** Asks now for what sealing will need (the new passphrase), before a sign-in starts. */
  prepare(): Promise<void>;
}

/** The account a backend works for; commands see it as FINGERPOST_ACCOUNT / FINGERPOST_ISSUER. */
export interface BackendContext {
  readonly address: string;
  readonly issuer: string;
  /** Asks for the passphrase (age backend); `confirm` when setting a new one. */
  readonly passphrase: (purpose: 'new' | 'unlock') => Promise<string>;
  /** The token agent that keeps the passphrase for a while (age backend); none when turned off. */
  readonly agent?: AgentClient;
  readonly env?: NodeJS.ProcessEnv;
}

/** The backend for a store choice. */
export function backendFor(choice: StoreChoice, ctx: BackendContext): SecretBackend {
  switch (choice.kind) {
    case 'age':
      return ageBackend(choice.workFactor, ctx);
    case 'command':
      return commandBackend(choice.encrypt, choice.decrypt, ctx);
    case 'keyring':
      return keyringBackend(ctx);
    case 'file':
      return fileBackend();
  }
}

/**
 * The age backend. The token agent is asked first for the key of the file's salt, so a mail
 * client's `fingerpost token` neither pays scrypt nor asks again; a passphrase typed (or given)
 * is handed to the agent once it has opened or sealed the file (src/client/agent/server.ts).
 */
function ageBackend(workFactor: number, ctx: BackendContext): SecretBackend {
  /** Set by `prepare`: a new passphrase was just chosen, the agent's older one must not seal. */
  let chosen = false;
  const typedKey = async (purpose: 'new' | 'unlock', salt: Uint8Array, logN: number) => {
    const passphrase = await ctx.passphrase(purpose);
    const key = await deriveKey(passphrase, salt, logN);
    return { passphrase, key };
  };
  return {
    async seal(plaintext) {
      let typed: { passphrase: string; key: Buffer; salt: Uint8Array; logN: number } | undefined;
      const { armor, Encrypter } = await import('age-encryption');
      const e = new Encrypter();
      e.addRecipient(
        new NativeScryptRecipient(async (salt, logN) => {
          const held = chosen ? undefined : await ctx.agent?.key(salt, logN);
          if (held) return held;
          typed = { ...(await typedKey(chosen ? 'new' : 'unlock', salt, logN)), salt, logN };
          return typed.key;
        }, workFactor),
      );
      const sealed = armor.encode(await e.encrypt(plaintext));
      if (typed) await ctx.agent?.hold(typed.passphrase, typed.salt, typed.logN, typed.key);
      return sealed;
    },
    async prepare() {
      await ctx.passphrase('new');
      chosen = true;
    },
    async open(sealed) {
      const damaged = (err: unknown) =>
        localProblem(
          `the token file of ${ctx.address} is damaged (${(err as Error).message.slice(0, 80)})`,
          `sign in again: fingerpost login ${ctx.address}`,
        );
      const agent = ctx.agent;
      if (agent) {
        try {
          const text = await openScryptAge(sealed, (salt, logN) => agent.key(salt, logN));
          if (text !== undefined) return text;
        } catch (err) {
          throw err instanceof AgeFormatError ? damaged(err) : err;
        }
        // Nothing held, or a passphrase that no longer fits: ask as if there were no agent.
      }
      const passphrase = await ctx.passphrase('unlock');
      let typed: { key: Buffer; salt: Uint8Array; logN: number } | undefined;
      let text: string | undefined;
      try {
        text = await openScryptAge(sealed, async (salt, logN) => {
          typed = { key: await deriveKey(passphrase, salt, logN), salt, logN };
          return typed.key;
        });
      } catch (err) {
        throw err instanceof AgeFormatError ? damaged(err) : err;
      }
      if (text === undefined)
        throw localProblem(
          `the passphrase does not open the token file of ${ctx.address}`,
          'check the passphrase (FINGERPOST_PASSPHRASE or the passphrase command)',
        );
      if (typed) await agent?.hold(passphrase, typed.salt, typed.logN, typed.key);
      return text;
    },
    async remove() {},
  };
}

function commandEnv(ctx: BackendContext): NodeJS.ProcessEnv {
  return { ...(ctx.env ?? process.env), FINGERPOST_ACCOUNT: ctx.address, FINGERPOST_ISSUER: ctx.issuer };
}

function commandBackend(encrypt: string, decrypt: string, ctx: BackendContext): SecretBackend {
  return {
    async seal(plaintext) {
      const r = await runCommand(encrypt, [], { shell: true, input: plaintext, env: commandEnv(ctx) });
      if (r.code !== 0)
        throw localProblem(`the encrypt command failed (exit ${r.code}): ${firstLine(r.stderr)}`, 'check --encrypt-command');
      // A command that keeps the secret itself (pass insert) prints nothing; decrypt fetches it.
      return r.stdout.toString('base64');
    },
    async open(sealed) {
      const r = await runCommand(decrypt, [], { shell: true, input: Buffer.from(sealed, 'base64'), env: commandEnv(ctx) });
      if (r.code !== 0)
        throw localProblem(`the decrypt command failed (exit ${r.code}): ${firstLine(r.stderr)}`, 'check --decrypt-command');
      return r.stdout.toString('utf8');
    },
    async remove() {},
    async prepare() {},
  };
}

const KEYRING_ATTRS = (ctx: BackendContext) => ['application', 'fingerpost', 'account', ctx.address, 'issuer', ctx.issuer];

function keyringBackend(ctx: BackendContext): SecretBackend {
  return {
    async seal(plaintext) {
      const r = await runCommand('secret-tool', ['store', `--label=Fingerpost mail token for ${ctx.address}`, ...KEYRING_ATTRS(ctx)], {
        input: plaintext,
        env: ctx.env,
      });
      if (r.code !== 0)
        throw localProblem(`the keyring refused the secret: ${firstLine(r.stderr) || `exit ${r.code}`}`, 'unlock the desktop keyring');
      return '';
    },
    async open() {
      const r = await runCommand('secret-tool', ['lookup', ...KEYRING_ATTRS(ctx)], { env: ctx.env });
      if (r.code !== 0 || r.stdout.length === 0)
        throw localProblem(
          `the keyring has no token for ${ctx.address}${r.stderr ? ` (${firstLine(r.stderr)})` : ''}`,
          `unlock the desktop keyring, or sign in again: fingerpost login ${ctx.address}`,
        );
      return r.stdout.toString('utf8');
    },
    async remove() {
      await runCommand('secret-tool', ['clear', ...KEYRING_ATTRS(ctx)], { env: ctx.env });
    },
    async prepare() {},
  };
}

function fileBackend(): SecretBackend {
  return {
    async seal(plaintext) {
      return Buffer.from(plaintext, 'utf8').toString('base64');
    },
    async open(sealed) {
      return Buffer.from(sealed, 'base64').toString('utf8');
    },
    async remove() {},
    async prepare() {},
  };
}

/**
 * True when `secret-tool` is installed and a Secret Service answers on the session bus: a lookup
 * of an absent item exits 1 silently; without a service it prints why on stderr.
 */
export async function keyringAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env.DBUS_SESSION_BUS_ADDRESS) return false;
  try {
    const r = await runCommand('secret-tool', ['lookup', 'application', 'fingerpost', 'probe', 'availability'], { env, timeoutMs: 10_000 });
    return r.code === 0 || (r.code === 1 && r.stderr.trim() === '');
  } catch {
    return false;
  }
}

/** Store choices a user can ask for with `--store`. */
export type StoreKind = StoreChoice['kind'];

/**
 * Picks the backend and says why (shown at sign-in): an explicit `--store` wins; then the user's
 * encrypt/decrypt commands; then the desktop keyring when one answers; else an age passphrase.
 */
export async function chooseStore(options: {
  kind?: StoreKind;
  encryptCommand?: string;
  decryptCommand?: string;
  passphraseCommand?: string;
  workFactor?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<StoreChoice> {
  const wf = options.workFactor ?? 18;
  const age = (reason: string): StoreChoice => ({
    kind: 'age',
    workFactor: wf,
    ...(options.passphraseCommand ? { passphraseCommand: options.passphraseCommand } : {}),
    reason,
  });
  const hasCommands = !!(options.encryptCommand || options.decryptCommand);
  if (hasCommands && !(options.encryptCommand && options.decryptCommand))
    throw localProblem('--encrypt-command and --decrypt-command go together', 'give both, e.g. gpg --encrypt and gpg --decrypt');
  const command = (reason: string): StoreChoice => ({
    kind: 'command',
    encrypt: options.encryptCommand!,
    decrypt: options.decryptCommand!,
    reason,
  });
  switch (options.kind) {
    case 'age':
      return age('encrypted with a passphrase (age, scrypt) because --store age was given');
    case 'command':
      if (!hasCommands) throw localProblem('--store command needs --encrypt-command and --decrypt-command');
      return command('sealed by your encrypt/decrypt commands because --store command was given');
    case 'keyring':
      if (!(await keyringAvailable(options.env)))
        throw localProblem(
          'no desktop keyring answers (secret-tool and a Secret Service on the session bus are needed)',
          'use --store age instead',
        );
      return { kind: 'keyring', reason: 'kept in the desktop keyring (secret-tool) because --store keyring was given' };
    case 'file':
      return {
        kind: 'file',
        reason: 'stored unencrypted (file mode 0600) because --store file was given; anyone who can read your files can use it',
      };
    case undefined:
      break;
  }
  if (hasCommands) return command('sealed by your encrypt/decrypt commands (--encrypt-command/--decrypt-command)');
  if (await keyringAvailable(options.env))
    return { kind: 'keyring', reason: 'kept in the desktop keyring: secret-tool found and a Secret Service answered' };
  return age('encrypted with a passphrase (age, scrypt): no desktop keyring answered and no encrypt command was given');
}
