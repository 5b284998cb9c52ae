import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // 32 symbols, no l/o/0/1

/** A random secret people can type: `groups` groups of four symbols, 5 bits each (20 chars = 100 bits). */
export function typeableSecret(groups = 5): string {
  const bytes = randomBytes(groups * 4);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i && i % 4 === 0) out += '-';
    out += ALPHABET[bytes[i]! & 31];
  }
  return out;
}
