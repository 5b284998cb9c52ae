import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie's name; its path is the provider's interaction pages. */
export const DEVICE_COOKIE = 'fp_device';

const MAX_ACCOUNTS = 5;
const DEVICE_ID = /^[A-Za-z0-9_-]{22}$/;
const ENTRY = /^([0-9a-z]{1,12})-([A-Za-z0-9_-]{22})$/;

/**
 * The sign-in page's device cookie: after a successful sign-in the browser gets a random device
 * id and, per account (at most five), the time and an HMAC of (device, account, time) under a
 * server secret. Presented again for the same account within `knownForMs`, it proves the browser
 * signed in to that account before, and the failure limits let it through even from an address
 * that is refused (docs/authentication.md "Abuse protection"). No account name is in the cookie.
 */
export class DeviceCookies {
  readonly #key: Buffer;
  readonly #knownForMs: number;
  readonly #now: () => number;

  constructor(secret: string, knownForMs: number, now: () => number = Date.now) {
    this.#key = Buffer.from(secret, 'base64url');
    this.#knownForMs = knownForMs;
    this.#now = now;
  }

  /** The device id when `cookie` proves a sign-in to `account` (lower-cased) within `knownForMs`; constant-time. */
  verify(cookie: string | undefined, account: string): string | undefined {
    const parsed = parse(cookie);
    if (!parsed || !account) return undefined;
    const now = this.#now();
    for (const entry of parsed.entries) {
      const issuedAt = Number.parseInt(entry.at, 36);
      if (!(issuedAt <= now && now - issuedAt < this.#knownForMs)) continue;
      const expected = Buffer.from(this.#mac(parsed.device, account, entry.at));
      const given = Buffer.from(entry.mac);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return parsed.device;
    }
    return undefined;
  }

  /** The cookie value after `account` signed in: same device id, this account first, older and stale entries dropped. */
  issue(cookie: string | undefined, account: string): string {
    const parsed = parse(cookie);
    const device = parsed?.device ?? randomBytes(16).toString('base64url');
    const now = this.#now();
    const at = now.toString(36);
    const kept = (parsed?.entries ?? []).filter((e) => {
      const issuedAt = Number.parseInt(e.at, 36);
      return now - issuedAt < this.#knownForMs && e.mac !== this.#mac(device, account, e.at);
    });
    const entries = [{ at, mac: this.#mac(device, account, at) }, ...kept].slice(0, MAX_ACCOUNTS);
    return `${device}.${entries.map((e) => `${e.at}-${e.mac}`).join('~')}`;
  }

  /** The `Set-Cookie` value: HttpOnly, Secure, SameSite=Lax, on `path`, for `knownForMs`. */
  header(value: string, path: string): string {
    return `${DEVICE_COOKIE}=${value}; Path=${path}; Max-Age=${Math.floor(this.#knownForMs / 1000)}; HttpOnly; Secure; SameSite=Lax`;
  }

  #mac(device: string, account: string, at: string): string {
    return createHmac('sha256', this.#key).update(`device\0${device}\0${account}\0${at}`).digest('base64url').slice(0, 22);
  }
}

/** The device cookie's value from a `Cookie` request header, if any (bounded). */
export function deviceCookieOf(header: string | undefined): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === DEVICE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function parse(cookie: string | undefined): { device: string; entries: { at: string; mac: string }[] } | undefined {
  if (!cookie || cookie.length > 1024) return undefined;
  const dot = cookie.indexOf('.');
  const device = cookie.slice(0, dot);
  if (dot < 0 || !DEVICE_ID.test(device)) return undefined;
  const entries: { at: string; mac: string }[] = [];
  for (const raw of cookie
    .slice(dot + 1)
    .split('~')
    .slice(0, MAX_ACCOUNTS)) {
    const m = ENTRY.exec(raw);
    if (m) entries.push({ at: m[1]!, mac: m[2]! });
  }
  return { device, entries };
}
