import dgram from 'node:dgram';
import { getServers } from 'node:dns';
import net from 'node:net';

/** Record types the secure resolver asks for. */
export const RR = { CNAME: 5, MX: 15, TLSA: 52 } as const;

/** One answer record: its type and raw rdata, names in it already expanded. */
export interface SecureRecord {
  readonly type: number;
  readonly name: string;
  /** MX: preference and exchange; TLSA: the three fields and the data; CNAME: target. */
  readonly mx?: { readonly priority: number; readonly exchange: string };
  readonly tlsa?: { readonly usage: number; readonly selector: number; readonly matching: number; readonly data: Buffer };
  readonly target?: string;
}

/** A response: `secure` is the AD bit of a validating resolver (RFC 4035 §3.2.3, RFC 6840 §5.7). */
export interface SecureAnswer {
  /** 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN… (RFC 1035 §4.1.1). */
  readonly rcode: number;
  readonly secure: boolean;
  readonly records: readonly SecureRecord[];
}

const MAX_NAME = 255;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new Error(`DNS label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME) throw new Error(`DNS name too long: ${name}`);
  return out;
}

/** A query with RD and AD set and an EDNS0 OPT record with DO (RFC 6840 §5.7, RFC 3225 §3). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0120, 2); // RD | AD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(1, 2);
  // OPT: root name, type 41, UDP size 1232, extended rcode/version 0, DO bit, no options.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
  return Buffer.concat([header, encodeName(name), q, opt]);
}

/** Reads a possibly compressed name (RFC 1035 §4.1.4), refusing loops and overlong names. */
function readName(msg: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  let jumps = 0;
  let length = 1;
  for (;;) {
    if (pos >= msg.length) throw new Error('DNS name runs past the message');
    const len = msg[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length || ++jumps > 32) throw new Error('bad DNS compression pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      continue;
    }
    if (len & 0xc0) throw new Error('bad DNS label type');
    length += len + 1;
    if (length > MAX_NAME || pos + 1 + len > msg.length) throw new Error('DNS name too long');
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next };
}

/** Parses a response to query `id` (RFC 1035 §4.1); throws on anything malformed. */
export function decodeResponse(msg: Buffer, id: number): SecureAnswer & { truncated: boolean } {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id) throw new Error('DNS response does not match the query');
  const flags = msg.readUInt16BE(2);
  if (!(flags & 0x8000)) throw new Error('DNS message is not a response');
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(msg, pos).next + 4;
  const records: SecureRecord[] = [];
  for (let i = 0; i < an; i++) {
    const owner = readName(msg, pos);
    pos = owner.next;
    if (pos + 10 > msg.length) throw new Error('DNS record runs past the message');
    const type = msg.readUInt16BE(pos);
    const rdlen = msg.readUInt16BE(pos + 8);
    const rd = pos + 10;
    if (rd + rdlen > msg.length) throw new Error('DNS rdata runs past the message');
    if (type === RR.MX && rdlen >= 3) {
      records.push({ type, name: owner.name, mx: { priority: msg.readUInt16BE(rd), exchange: readName(msg, rd + 2).name } });
    } else if (type === RR.TLSA && rdlen >= 3) {
      const data = Buffer.from(msg.subarray(rd + 3, rd + rdlen));
      records.push({ type, name: owner.name, tlsa: { usage: msg[rd]!, selector: msg[rd + 1]!, matching: msg[rd + 2]!, data } });
    } else if (type === RR.CNAME) {
      records.push({ type, name: owner.name, target: readName(msg, rd).name });
    }
    pos = rd + rdlen;
  }
  return { rcode: flags & 0x0f, secure: (flags & 0x0020) !== 0, truncated: (flags & 0x0200) !== 0, records };
}

function parseServer(server: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
  return { host: server, port: 53 }; // a bare IPv6 address
}

/**
 * A stub resolver that trusts the AD bit of the resolvers the administrator configured (RFC 4035
 * §4.9.3, RFC 6698 §4.1): they must validate DNSSEC and be reached over a trusted path, such as
 * a validating resolver on loopback. Questions go over UDP, then TCP when truncated (RFC 7766).
 */
export class SecureResolver {
  readonly #servers: Array<{ host: string; port: number }>;
  readonly #timeoutMs: number;

  constructor(options: { servers: readonly string[]; timeoutMs: number }) {
    const servers = options.servers.length ? options.servers : getServers();
    this.#servers = servers.map(parseServer);
    this.#timeoutMs = options.timeoutMs;
  }

  /** Asks each server in turn until one answers; rejects (`ETIMEOUT`…) when none does. */
  async query(name: string, type: number): Promise<SecureAnswer> {
    let last: Error = new Error('no DNS servers');
    for (const server of this.#servers) {
      try {
        const id = Math.floor(Math.random() * 0x10000);
        const query = encodeQuery(id, name, type);
        let answer = decodeResponse(await this.#udp(server, query), id);
        if (answer.truncated) answer = decodeResponse(await this.#tcp(server, query), id);
        return { rcode: answer.rcode, secure: answer.secure, records: answer.records };
      } catch (err) {
        last = err as Error;
      }
    }
    throw last;
  }

  #udp(server: { host: string; port: number }, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
      const timer = setTimeout(() => done(Object.assign(new Error('DNS query timed out'), { code: 'ETIMEOUT' })), this.#timeoutMs);
      const done = (err: Error | undefined, msg?: Buffer) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(msg!);
      };
      socket.on('message', (msg, rinfo) => {
        // Only the server asked answers; a datagram from elsewhere is ignored.
        if (rinfo.port === server.port && msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) done(undefined, msg);
      });
      socket.on('error', (err) => done(err));
      socket.send(query, server.port, server.host);
    });
  }

  #tcp(server: { host: string; port: number }, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, server.host);
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(
        () => socket.destroy(Object.assign(new Error('DNS query timed out'), { code: 'ETIMEOUT' })),
        this.#timeoutMs,
      );
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        socket.end(Buffer.concat([len, query]));
      });
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        const all = Buffer.concat(chunks);
        if (size >= 2 && size >= 2 + all.readUInt16BE(0)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error('DNS connection closed before the answer'));
      });
    });
  }
}
