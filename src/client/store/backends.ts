import { armor, Decrypter, Encrypter } from 'age-encryption';
import { localProblem } from '../errors.ts';
import type { StoreChoice } from './account.ts';
import { NativeScryptIdentity, NativeScryptRecipient } from './age-scrypt.ts';
import { firstLine, runCommand } from './run.ts';

/**
 * The secret backends (issue 9 "Token store"): a passphrase (age), the user's own encrypt and
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

function ageBackend(workFactor: number, ctx: BackendContext): SecretBackend {
  return {
    async seal(plaintext) {
      const e = new Encrypter();
      e.addRecipient(new NativeScryptRecipient(await ctx.passphrase('new'), workFactor));
      return armor.encode(await e.encrypt(plaintext));
    },
    async prepare() {
      await ctx.passphrase('new');
    },
    async open(sealed) {
      let bytes: Uint8Array;
      try {
        bytes = armor.decode(sealed);
      } catch {
        throw localProblem(
          `the token file of ${ctx.address} is damaged (not an age file)`,
          `sign in again: fingerpost login ${ctx.address}`,
        );
      }
      const d = new Decrypter();
      d.addIdentity(new NativeScryptIdentity(await ctx.passphrase('unlock')));
      try {
        return await d.decrypt(bytes, 'text');
      } catch (err) {
        const msg = (err as Error).message;
        if (/no identity matched/i.test(msg))
          throw localProblem(
            `the passphrase does not open the token file of ${ctx.address}`,
            'check the passphrase (FINGERPOST_PASSPHRASE or the passphrase command)',
          );
        throw localProblem(
          `the token file of ${ctx.address} is damaged (${msg.slice(0, 80)})`,
          `sign in again: fingerpost login ${ctx.address}`,
        );
      }
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
