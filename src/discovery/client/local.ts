import dns from 'node:dns';
import { isIP } from 'node:net';

/**
 * The local fallback of discovery: a server started with the embedded defaults (README "Quick
 * start") answers HTTPS on 8443, not 443 (`http.port` in src/config/schema.ts). When the address's
 * domain is this machine (a `localhost` name, RFC 6761 §6.3, or a name that resolves only to
 * loopback addresses) and nothing listens on 443, WebFinger is asked on 8443 instead.
 */

/** The embedded default HTTPS port (`http.port`, src/config/schema.ts). */
export const EMBEDDED_HTTPS_PORT = 8443;

function isLoopback(ip: string): boolean {
  return isIP(ip) === 4 ? ip.startsWith('127.') : ip === '::1' || ip.toLowerCase() === '::ffff:127.0.0.1';
}

/** True when `domain` names this machine: `localhost`, `*.localhost`, or only loopback addresses. */
export async function isThisMachine(domain: string, lookup: typeof dns.promises.lookup = dns.promises.lookup): Promise<boolean> {
  const name = domain.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  try {
    const all = await lookup(name, { all: true });
    return all.length > 0 && all.every((a) => isLoopback(a.address));
  } catch {
    return false;
  }
}
