/** The addresses a PROXY protocol header reports for the real client. */
export interface ProxiedAddress {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export type ProxyParse =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** `address` is undefined for LOCAL / UNKNOWN (health checks from the proxy itself). */
  | { readonly kind: 'ok'; readonly address: ProxiedAddress | undefined; readonly consumed: number };

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX = 107;

function ipv6(buf: Buffer, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(at + i * 2).toString(16));
  return parts.join(':');
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'PROXY v1 line too long' } : { kind: 'incomplete' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'PROXY v1 line too long' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'ok', address: undefined, consumed: end + 2 };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed PROXY v1 line' };
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const port = (p: string) => (/^\d{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : Number.NaN);
  if (Number.isNaN(port(sport)) || Number.isNaN(port(dport))) return { kind: 'invalid', reason: 'bad port in PROXY v1 line' };
  return {
    kind: 'ok',
    address: { remoteAddress: src, remotePort: port(sport), localAddress: dst, localPort: port(dport) },
    consumed: end + 2,
  };
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'unsupported PROXY v2 version' };
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return { kind: 'incomplete' };
  const consumed = 16 + len;
  const cmd = verCmd & 0x0f;
  if (cmd === 0) return { kind: 'ok', address: undefined, consumed };
  if (cmd !== 1) return { kind: 'invalid', reason: 'unknown PROXY v2 command' };
  const fam = buf[13]! >> 4;
  if (fam === 1 && len >= 12) {
    const ip = (at: number) => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return {
      kind: 'ok',
      address: { remoteAddress: ip(16), localAddress: ip(20), remotePort: buf.readUInt16BE(24), localPort: buf.readUInt16BE(26) },
      consumed,
    };
  }
  if (fam === 2 && len >= 36) {
    return {
      kind: 'ok',
      address: {
        remoteAddress: ipv6(buf, 16),
        localAddress: ipv6(buf, 32),
        remotePort: buf.readUInt16BE(48),
        localPort: buf.readUInt16BE(50),
      },
      consumed,
    };
  }
  return { kind: 'ok', address: undefined, consumed };
}

/**
 * Parses a PROXY protocol v1 (text) or v2 (binary) header at the start of `buf`
 * (haproxy PROXY protocol spec §2.1, §2.2). Bytes after `consumed` belong to the client.
 */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { kind: 'incomplete' };
  const sigLen = Math.min(buf.length, V2_SIG.length);
  if (buf.subarray(0, sigLen).equals(V2_SIG.subarray(0, sigLen))) return sigLen < V2_SIG.length ? { kind: 'incomplete' } : parseV2(buf);
  const prefix = Buffer.from('PROXY ');
  const n = Math.min(buf.length, prefix.length);
  if (!buf.subarray(0, n).equals(prefix.subarray(0, n))) return { kind: 'invalid', reason: 'no PROXY protocol header' };
  return n < prefix.length ? { kind: 'incomplete' } : parseV1(buf);
}
