import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** TOTP parameters of every authenticator app: HMAC-SHA1, 6 digits, 30-second steps (RFC 6238 §4, §5.2). */
export const TOTP_DIGITS = 6;
export const TOTP_STEP_SEC = 30;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 §6 base32 without padding (the key format of `otpauth://` URIs). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** RFC 4648 §6 base32 decoding (case, spaces and padding ignored); undefined for other letters. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  if (clean.length > 1024) return undefined;
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) return undefined;
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP (RFC 4226 §5.3): dynamic truncation of HMAC(key, counter) to `digits` decimal digits. */
export function hotp(key: Uint8Array, counter: number, digits = TOTP_DIGITS, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(bin).padStart(digits, '0');
}

/** The RFC 6238 §4.2 time step of a moment (epoch ms). */
export function totpStep(nowMs: number, stepSec = TOTP_STEP_SEC): number {
  return Math.floor(nowMs / 1000 / stepSec);
}

/** The TOTP value at a moment (RFC 6238 §4.2, T0 = 0). */
export function totp(key: Uint8Array, nowMs: number, digits = TOTP_DIGITS, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  return hotp(key, totpStep(nowMs), digits, algorithm);
}

/**
 * The time step a submitted code matches, trying the current step and one on either side for
 * clock drift (RFC 6238 §5.2), constant-time per candidate; undefined when none matches.
 * Steps at or before `afterStep` are refused, so a code is good once (RFC 6238 §5.2 replay).
 */
export function matchTotp(key: Uint8Array, code: string, nowMs: number, afterStep = -1): number | undefined {
  const given = Buffer.from(code.replace(/\s/g, ''));
  if (given.length !== TOTP_DIGITS) return undefined;
  const now = totpStep(nowMs);
  let found: number | undefined;
  for (const step of [now - 1, now, now + 1]) {
    const ok = timingSafeEqual(Buffer.from(hotp(key, step)), given);
    if (ok && step > afterStep && found === undefined) found = step;
  }
  return found;
}

/** A new random TOTP key (160 bits, the HMAC-SHA1 output length RFC 4226 §4 recommends). */
export function newTotpKey(): Buffer {
  return randomBytes(20);
}

/** The `otpauth://totp/` URI authenticator apps read from a QR code (Key Uri Format). */
export function otpauthUri(issuer: string, account: string, key: Uint8Array): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({
    secret: base32Encode(key),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_STEP_SEC),
  });
  return `otpauth://totp/${label}?${q.toString()}`;
}
