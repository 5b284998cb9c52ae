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

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 counted as two). */
function ipv6Groups(ip: string): number[] {
  const bare = ip.replace(/%.*$/, '');
  const [head = '', tail] = bare.split('::');
  const parse = (part: string) => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * The key a client is counted under by per-address limits: an IPv4 address as is, an IPv6
 * address by its /64 prefix (RFC 4291 §2.5.4: one subnet, usually one subscriber), so walking
 * through the addresses of one prefix does not multiply the allowance.
 */
export function addressKey(ip: string): string {
  const n = normalizeIp(ip);
  if (isIP(n) !== 6) return n;
  const prefix = ipv6Groups(n)
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':');
  return `${prefix}::/64`;
}
