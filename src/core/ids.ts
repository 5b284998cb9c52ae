import { randomBytes } from 'node:crypto';

/** A random identifier: `prefix` + 16 bytes of base64url (128 bits), e.g. for sessions and objects. */
export function randomId(prefix = ''): string {
  return prefix + randomBytes(16).toString('base64url');
}

/** A random secret of `bytes` bytes rendered in base64url, for passwords and tokens shown once. */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
