import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. @node-rs/argon2 defaults to argon2id.
const PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password with argon2id (RFC 9106) into a PHC string. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

// Verifying against this when the account does not exist makes an unknown user cost the same
// time as a wrong password.
let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a PHC hash in constant time (argon2 compares digests in constant
 * time). A null hash (unknown user, no password set) still spends one argon2 verification.
 */
export async function verifyPassword(phc: string | null, password: string): Promise<boolean> {
  if (phc === null || !phc.startsWith('$argon2')) {
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}
