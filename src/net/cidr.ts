import { BlockList, isIP } from 'node:net';

/** Normalises `::ffff:1.2.3.4` to `1.2.3.4` so IPv4 peers on dual-stack sockets match IPv4 rules. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** A matcher for a list of addresses and CIDR ranges (`10.0.0.0/8`, `::1/128`, `192.0.2.7`). */
export function ipMatcher(entries: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const family = isIP(addr ?? '');
    if (!family) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return (ip) => {
    const n = normalizeIp(ip);
    const family = isIP(n);
    return family !== 0 && list.check(n, family === 6 ? 'ipv6' : 'ipv4');
  };
}
