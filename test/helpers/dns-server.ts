// A loopback DNS server (UDP and TCP, port 0) for tests: SPF, DKIM and DMARC records served from a
// table the test fills, names that answer SERVFAIL, and names that never answer. Names marked
// `secure` get the AD bit, as a DNSSEC-validating resolver sets it (RFC 4035 §3.2.3).
import dns2 from 'dns2';

const { Packet } = dns2;

export type RecordType = 'TXT' | 'A' | 'AAAA' | 'MX' | 'TLSA';

const TLSA = 52;

export interface TestDns {
  readonly port: number;
  /** `127.0.0.1:port`, for `inbound.dns_servers`. */
  readonly server: string;
  /** Questions received, as `TYPE name`. */
  readonly queries: string[];
  /** Sets the answers for a name and type (TXT values longer than 255 octets are split). */
  set(name: string, type: RecordType, values: readonly string[]): void;
  /** Answers for this name carry the AD bit (TLSA values: `usage selector matching hex`). */
  secure(name: string): void;
  /** Answers SERVFAIL for this name. */
  fail(name: string): void;
  /** Never answers for this name. */
  hang(name: string): void;
  close(): Promise<void>;
}

const TYPE_NAMES = new Map<number, RecordType>([
  [Packet.TYPE.TXT, 'TXT'],
  [Packet.TYPE.A, 'A'],
  [Packet.TYPE.AAAA, 'AAAA'],
  [Packet.TYPE.MX, 'MX'],
  [TLSA, 'TLSA'],
]);

function chunks(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 255) out.push(value.slice(i, i + 255));
  return out.length ? out : [''];
}

export async function startTestDns(): Promise<TestDns> {
  const records = new Map<string, string[]>();
  const names = new Set<string>();
  const failing = new Set<string>();
  const hanging = new Set<string>();
  const secure = new Set<string>();
  const queries: string[] = [];
  const key = (name: string, type: string) => `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      if (!q) return send(response);
      const name = q.name.toLowerCase().replace(/\.$/, '');
      const type = TYPE_NAMES.get(q.type) ?? String(q.type);
      queries.push(`${type} ${name}`);
      if (hanging.has(name)) return;
      // dns2 writes the AD bit but does not declare it in its types
      if (secure.has(name)) (response.header as unknown as { ad: number }).ad = 1;
      if (failing.has(name)) {
        response.header.rcode = Packet.RCODE.SERVFAIL;
        return send(response);
      }
      const values = records.get(key(name, type));
      if (!values) {
        // NXDOMAIN when nothing exists at the name, else NOERROR with no answer (NODATA).
        if (!names.has(name)) response.header.rcode = Packet.RCODE.NXDOMAIN;
        return send(response);
      }
      // dns2 types its records as class instances; plain records are what it encodes.
      const answers = response.answers as unknown as object[];
      for (const v of values) {
        const base = { name: q.name, class: Packet.CLASS.IN, ttl: 60 };
        if (type === 'TXT') answers.push({ ...base, type: Packet.TYPE.TXT, data: chunks(v) });
        else if (type === 'A') answers.push({ ...base, type: Packet.TYPE.A, address: v });
        else if (type === 'AAAA') answers.push({ ...base, type: Packet.TYPE.AAAA, address: v });
        else if (type === 'MX') {
          const [priority, exchange] = v.split(' ');
          answers.push({ ...base, type: Packet.TYPE.MX, priority: Number(priority), exchange: exchange ?? '' });
        } else if (type === 'TLSA') {
          const [usage, selector, matching, hex] = v.split(' ');
          const data = Buffer.concat([Buffer.from([Number(usage), Number(selector), Number(matching)]), Buffer.from(hex ?? '', 'hex')]);
          answers.push({ ...base, type: TLSA, data });
        }
      }
      send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' }, tcp: { port: 0, address: '127.0.0.1' } });
  // Both transports on one port: resolvers retry over TCP after a truncated UDP answer.
  const port = addresses.udp?.port ?? 0;
  const tcpPort = addresses.tcp?.port ?? 0;
  if (tcpPort !== port) {
    await server.close();
    // Ports rarely differ: bind TCP to the UDP port on a second try.
    return startTestDns();
  }
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries,
    set(name, type, values) {
      const n = name.toLowerCase().replace(/\.$/, '');
      // every parent of a name exists too (an empty non-terminal answers NODATA, RFC 8020)
      const labels = n.split('.');
      for (let i = 0; i < labels.length; i++) names.add(labels.slice(i).join('.'));
      records.set(key(n, type), [...values]);
    },
    secure: (name) => secure.add(name.toLowerCase().replace(/\.$/, '')),
    fail: (name) => failing.add(name.toLowerCase()),
    hang: (name) => hanging.add(name.toLowerCase()),
    close: () => server.close(),
  };
}
