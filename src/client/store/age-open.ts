import { createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { MAX_WORK_FACTOR } from './age-scrypt.ts';

/**
 * Opening an armored age file sealed to one scrypt recipient (age-encryption.org/v1: "Header",
 * "scrypt recipient stanza", "Payload"; the armor is its strict PEM subset) with node:crypto
 * alone. `fingerpost token` runs on every mail-client connection and needs only this; the age
 * library (which seals, src/client/store/backends.ts) costs more to load than the rest of the
 * command. Files are checked as strictly as the age library does: header MAC, STREAM chunk tags,
 * last-chunk flag, no trailing data.
 */

/** A malformed or tampered file (not a wrong passphrase: `openScryptAge` returns undefined then). */
export class AgeFormatError extends Error {}

const CHUNK = 64 * 1024;

function armorDecode(text: string): Buffer {
  const lines = text.trim().replaceAll('\r\n', '\n').split('\n');
  if (lines.shift() !== '-----BEGIN AGE ENCRYPTED FILE-----') throw new AgeFormatError('invalid armor header');
  if (lines.pop() !== '-----END AGE ENCRYPTED FILE-----') throw new AgeFormatError('invalid armor footer');
  lines.forEach((l, i) => {
    const ok = i === lines.length - 1 ? l.length > 0 && l.length <= 64 && l.length % 4 === 0 : l.length === 64;
    if (!ok || !/^[A-Za-z0-9+/=]+$/.test(l)) throw new AgeFormatError('invalid armor line');
  });
  return Buffer.from(lines.join(''), 'base64');
}

function b64NoPad(s: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new AgeFormatError('invalid base64');
  return Buffer.from(s, 'base64');
}

function chacha(key: Uint8Array, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Opens `armored` with the wrapping key `keyFor(salt, logN)` gives. Returns the plaintext, or
 * undefined when the key does not unwrap the file key (wrong passphrase, or no key held).
 */
export async function openScryptAge(
  armored: string,
  keyFor: (salt: Buffer, logN: number) => Promise<Buffer | undefined>,
): Promise<string | undefined> {
  const file = armorDecode(armored);
  // Header: version line, one scrypt stanza, "--- MAC".
  const lines: string[] = [];
  let pos = 0;
  for (;;) {
    const nl = file.indexOf(0x0a, pos);
    if (nl < 0 || lines.length > 8) throw new AgeFormatError('invalid header');
    const line = file.subarray(pos, nl).toString('latin1');
    pos = nl + 1;
    lines.push(line);
    if (line.startsWith('---')) break;
  }
  const [version, stanza, body, ...rest] = lines;
  if (version !== 'age-encryption.org/v1') throw new AgeFormatError('not an age v1 file');
  const args = stanza?.split(' ') ?? [];
  if (args[0] !== '->' || args[1] !== 'scrypt' || args.length !== 4) throw new AgeFormatError('not a single scrypt recipient');
  if (!/^[A-Za-z0-9+/]{22}$/.test(args[2]!) || !/^[1-9][0-9]*$/.test(args[3]!)) throw new AgeFormatError('invalid scrypt stanza');
  const logN = Number(args[3]);
  if (logN > MAX_WORK_FACTOR) throw new AgeFormatError('the scrypt work factor is too high');
  const macLine = rest.at(-1);
  if (rest.length !== 1 || !macLine?.startsWith('--- ')) throw new AgeFormatError('invalid header');
  const wrapped = b64NoPad(body ?? '');
  if (wrapped.length !== 32 || (body ?? '').length !== 43) throw new AgeFormatError('invalid scrypt stanza');
  const key = await keyFor(b64NoPad(args[2]!), logN);
  if (!key) return undefined;
  const fileKey = chacha(key, Buffer.alloc(12), wrapped);
  if (!fileKey) return undefined;
  // The header MAC covers everything up to and including "---".
  const headerNoMac = file.subarray(0, pos - 1 - macLine.length + 3);
  const macKey = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  const mac = createHmac('sha256', macKey).update(headerNoMac).digest();
  const given = b64NoPad(macLine.slice(4));
  if (given.length !== 32 || !timingSafeEqual(mac, given)) throw new AgeFormatError('the header MAC does not match');
  // Payload: 16-byte nonce, then STREAM chunks of 64 KiB + tag, the last one flagged.
  const nonce = file.subarray(pos, pos + 16);
  if (nonce.length !== 16) throw new AgeFormatError('the payload is truncated');
  const payloadKey = Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
  const out: Buffer[] = [];
  let at = pos + 16;
  for (let counter = 0; ; counter++) {
    const chunk = file.subarray(at, at + CHUNK + 16);
    const last = at + chunk.length >= file.length;
    const n = Buffer.alloc(12);
    n.writeUIntBE(counter, 5, 6);
    n[11] = last ? 1 : 0;
    const plain = chacha(payloadKey, n, chunk);
    if (!plain || (last && plain.length === 0 && counter > 0)) throw new AgeFormatError('the payload does not authenticate');
    out.push(plain);
    at += chunk.length;
    if (last) break;
  }
  return Buffer.concat(out).toString('utf8');
}
