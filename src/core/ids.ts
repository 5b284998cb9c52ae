import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Random bytes for identifiers, filled from the CSPRNG 4 KiB at a time: one `randomBytes` call
 * per identifier cost more than the rest of an IMAP login's session registration (as node's own
 * `randomUUID` does, the entropy is drawn in batches; each byte is handed out once).
 */
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

/** A random identifier: `prefix` + 16 bytes of base64url (128 bits), e.g. for sessions and objects. */
export function randomId(prefix = ''): string {
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString('base64url', used, used + 16);
  used += 16;
  return prefix + id;
}

/** A random secret of `bytes` bytes rendered in base64url, for passwords and tokens shown once. */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
