import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';

/**
 * The age `scrypt` recipient type (age-encryption.org/v1, "scrypt recipient stanza") computed with
 * Node's native scrypt instead of age-encryption's pure-JS one: the same file format (the `age`
 * command decrypts it), several times faster, and off the main thread. The age library still
 * writes the header, its MAC and the STREAM payload; this only wraps and unwraps the file key.
 */

const LABEL = 'age-encryption.org/v1/scrypt';
/** The highest work factor accepted when opening a file (age itself stops at 22; 2^20 needs 1 GiB). */
export const MAX_WORK_FACTOR = 20;

/** The wrapping key of one file: scrypt(passphrase, LABEL || salt, N=2^logN, r=8, p=1), 32 bytes. */
export function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase,
      Buffer.concat([Buffer.from(LABEL), salt]),
      32,
      { N, r: 8, p: 1, maxmem: 128 * 8 * N + 4 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

const NONCE = Buffer.alloc(12);

function b64NoPad(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/**
 * Where a wrapping key comes from: a passphrase (scrypt every time), or a function that may answer
 * from the token agent's cache (src/client/agent/client.ts) and derive only when it must.
 */
export type KeySource = string | ((salt: Uint8Array, logN: number) => Promise<Buffer | undefined>);

function keyFrom(source: KeySource, salt: Uint8Array, logN: number): Promise<Buffer | undefined> {
  return typeof source === 'string' ? deriveKey(source, salt, logN) : source(salt, logN);
}

/** Seals the age file key with a passphrase (scrypt, r=8, p=1, N=2^logN; ChaCha20-Poly1305, zero nonce). */
export class NativeScryptRecipient implements Recipient {
  readonly #source: KeySource;
  readonly #logN: number;
  constructor(source: KeySource, logN: number) {
    this.#source = source;
    this.#logN = logN;
  }
  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    const key = await keyFrom(this.#source, salt, this.#logN);
    if (!key) throw new Error('no key to seal the file with');
    const c = createCipheriv('chacha20-poly1305', key, NONCE, { authTagLength: 16 });
    const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
    // Loaded here: opening a file (src/client/store/age-open.ts) does not need the age library.
    const age = await import('age-encryption');
    return [new age.Stanza(['scrypt', b64NoPad(salt), String(this.#logN)], new Uint8Array(body))];
  }
}

/** Opens a file sealed with a passphrase; returns null when the passphrase (or key) does not match. */
export class NativeScryptIdentity implements Identity {
  readonly #source: KeySource;
  constructor(source: KeySource) {
    this.#source = source;
  }
  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const s of stanzas) {
      if (s.args[0] !== 'scrypt') continue;
      if (stanzas.length !== 1) throw new Error('a scrypt stanza must be the only one in the header');
      if (s.args.length !== 3 || !/^[1-9][0-9]*$/.test(s.args[2]!) || !/^[A-Za-z0-9+/]{22}$/.test(s.args[1]!))
        throw new Error('invalid scrypt stanza');
      const logN = Number(s.args[2]);
      if (logN > MAX_WORK_FACTOR) throw new Error('the scrypt work factor is too high');
      if (s.body.length !== 32) throw new Error('invalid scrypt stanza');
      const key = await keyFrom(this.#source, Buffer.from(s.args[1]!, 'base64'), logN);
      if (!key) return null;
      const d = createDecipheriv('chacha20-poly1305', key, NONCE, { authTagLength: 16 });
      d.setAuthTag(s.body.subarray(16));
      try {
        return new Uint8Array(Buffer.concat([d.update(s.body.subarray(0, 16)), d.final()]));
      } catch {
        return null;
      }
    }
    return null;
  }
}
