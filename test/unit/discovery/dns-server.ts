import dgram from 'node:dgram';

/**
 * A tiny authoritative DNS server on loopback UDP for tests (RFC 1035 §4 message format): answers
 * A, AAAA, TXT, MX, SRV and CNAME from a table, NXDOMAIN for unknown names. Enough for node:dns's
 * Resolver, which `fingerpost doctor --resolver` and `discover --resolver` use.
 */
export type DnsRecord =
  | { type: 'A' | 'AAAA' | 'CNAME'; value: string }
  | { type: 'TXT'; value: string }
  | { type: 'MX'; priority: number; exchange: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string };

const TYPES = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])), Buffer.from([0])]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function rdata(r: DnsRecord): Buffer {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.value.split('.').map(Number));
    case 'AAAA': {
      const [head, tail = ''] = r.value.split('::');
      const h = head ? head.split(':') : [];
      const t = tail ? tail.split(':') : [];
      const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
      return Buffer.concat(groups.map((g) => u16(Number.parseInt(g, 16))));
    }
    case 'CNAME':
      return encodeName(r.value);
    case 'TXT': {
      const bytes = Buffer.from(r.value);
      const parts: Buffer[] = [];
      for (let i = 0; i < bytes.length || i === 0; i += 255) {
        const chunk = bytes.subarray(i, i + 255);
        parts.push(Buffer.from([chunk.length]), chunk);
      }
      return Buffer.concat(parts);
    }
    case 'MX':
      return Buffer.concat([u16(r.priority), encodeName(r.exchange)]);
    case 'SRV':
      return Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), encodeName(r.target)]);
  }
}

export interface TestDns {
  readonly address: string;
  /** Replace the whole table (names are case-insensitive, without the trailing dot). */
  records: Map<string, DnsRecord[]>;
  close(): Promise<void>;
}

export async function startDns(records: Map<string, DnsRecord[]> = new Map()): Promise<TestDns> {
  const socket = dgram.createSocket('udp4');
  const server: TestDns = {
    address: '',
    records,
    close: () => new Promise((r) => socket.close(() => r())),
  };
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off]!;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString());
      off += len + 1;
    }
    const qEnd = off + 5;
    const qtype = msg.readUInt16BE(off + 1);
    const name = labels.join('.').toLowerCase();
    const all = server.records.get(name);
    const answers = (all ?? []).filter((r) => TYPES[r.type] === qtype);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | (all ? 0 : 3), 2); // QR, AA, RD echoed, NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const body = answers.map((r) => {
      const data = rdata(r);
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(TYPES[r.type], 0);
      fixed.writeUInt16BE(1, 2);
      fixed.writeUInt32BE(60, 4);
      fixed.writeUInt16BE(data.length, 8);
      return Buffer.concat([Buffer.from([0xc0, 0x0c]), fixed, data]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, qEnd), ...body]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  (server as { address: string }).address = `127.0.0.1:${socket.address().port}`;
  return server;
}
