import dns from 'node:dns';
import { isIP } from 'node:net';
import { isPrivateAddress } from './client/http.ts';

/**
 * Warnings about the host the DNS records point at (`server.hostname`: MX, SRV and CNAME targets):
 * `localhost` or a name reserved for private use (RFC 6761 §6, RFC 2606, RFC 8375) would send
 * mail and clients to their own machine or nowhere; an IP literal is not a valid MX target
 * (RFC 2181 §10.3, RFC 5321 §5.1); a name resolving to a loopback or private address is not
 * reachable from the Internet. Shown by `fingerpost dns` and `fingerpost doctor`.
 */
const PRIVATE_SUFFIXES = ['localhost', 'test', 'example', 'invalid', 'local', 'internal', 'home.arpa', 'lan'];

/** The reserved suffix of a name that cannot be in public DNS (`localhost`, `.test`, …), if any. */
export function reservedSuffix(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  return PRIVATE_SUFFIXES.find((s) => n === s || n.endsWith(`.${s}`));
}

export async function recordTargetWarnings(
  host: string,
  lookup: (name: string) => Promise<{ address: string }[]> = (name) => dns.promises.lookup(name, { all: true }),
): Promise<string[]> {
  const name = host.toLowerCase().replace(/\.$/, '');
  const fix = 'set server.hostname (or FINGERPOST_SERVER_HOSTNAME) to the public name of this server before publishing';
  if (isIP(name)) return [`the records point at the address ${name}: MX and SRV targets must be host names (RFC 2181 §10.3); ${fix}`];
  if (name === 'localhost' || name.endsWith('.localhost'))
    return [`the records point at ${name}: every sender would deliver to its own machine; ${fix}`];
  const reserved = reservedSuffix(name);
  if (reserved) return [`the records point at ${name}: .${reserved} names do not resolve on the Internet; ${fix}`];
  let addresses: string[];
  try {
    addresses = (await lookup(name)).map((a) => a.address);
  } catch {
    return [];
  }
  const inside = addresses.filter((a) => isPrivateAddress(a));
  if (inside.length && inside.length === addresses.length)
    return [
      `${name} resolves only to ${inside.join(', ')} (loopback or private): mail and clients from outside cannot reach it; publish its public address`,
    ];
  if (inside.length) return [`${name} resolves also to ${inside.join(', ')} (loopback or private): clients outside may try it first`];
  return [];
}
