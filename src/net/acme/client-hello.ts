/**
 * Reads the server name (RFC 6066 §3) and the offered application protocols (RFC 7301 §3.1) from
 * the first bytes of a TLS connection, before any TLS is done with them: the ClientHello
 * (RFC 8446 §4.1.2) in one or more handshake records (RFC 8446 §5.1). The tls-alpn-01 responder
 * (RFC 8737 §3) needs both to choose its certificate, which Node's SNI callback cannot.
 */
export type ClientHelloPeek =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'hello'; readonly servername: string | undefined; readonly alpn: readonly string[] };

/** The most bytes read before giving up: a ClientHello is far smaller (RFC 8446 §5.1 caps a record at 2^14). */
export const CLIENT_HELLO_LIMIT = 16_384 + 5 * 4;

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/** Parses `data` (the bytes received so far) as the start of a TLS connection. */
export function peekClientHello(data: Buffer): ClientHelloPeek {
  // Gather handshake bytes from consecutive records until the ClientHello is complete.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need < 0 || have < need) {
    if (data.length < off + 5) return data.length >= CLIENT_HELLO_LIMIT ? { kind: 'invalid' } : { kind: 'incomplete' };
    if (data[off] !== HANDSHAKE || data[off + 1] !== 3) return { kind: 'invalid' };
    const len = data.readUInt16BE(off + 3);
    if (len === 0 || len > 16_384) return { kind: 'invalid' };
    const body = data.subarray(off + 5, off + 5 + len);
    parts.push(body);
    have += body.length;
    if (need < 0 && have >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== CLIENT_HELLO) return { kind: 'invalid' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > CLIENT_HELLO_LIMIT) return { kind: 'invalid' };
    }
    if (body.length < len) return { kind: 'incomplete' };
    off += 5 + len;
  }
  return parseHello(Buffer.concat(parts).subarray(4, need));
}

function parseHello(hello: Buffer): ClientHelloPeek {
  let off = 2 + 32; // legacy_version, random
  const skip = (lenBytes: 1 | 2): boolean => {
    if (off + lenBytes > hello.length) return false;
    const len = lenBytes === 1 ? hello[off]! : hello.readUInt16BE(off);
    off += lenBytes + len;
    return off <= hello.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'invalid' }; // session id, cipher suites, compression
  let servername: string | undefined;
  const alpn: string[] = [];
  if (off === hello.length) return { kind: 'hello', servername, alpn }; // no extensions at all
  if (off + 2 > hello.length) return { kind: 'invalid' };
  const end = off + 2 + hello.readUInt16BE(off);
  if (end > hello.length) return { kind: 'invalid' };
  off += 2;
  while (off + 4 <= end) {
    const type = hello.readUInt16BE(off);
    const len = hello.readUInt16BE(off + 2);
    const ext = hello.subarray(off + 4, off + 4 + len);
    if (ext.length < len) return { kind: 'invalid' };
    off += 4 + len;
    if (type === EXT_SERVER_NAME && ext.length >= 5) {
      let p = 2;
      while (p + 3 <= ext.length) {
        const nameType = ext[p]!;
        const nameLen = ext.readUInt16BE(p + 1);
        const name = ext.subarray(p + 3, p + 3 + nameLen);
        if (name.length < nameLen) return { kind: 'invalid' };
        if (nameType === 0 && servername === undefined) servername = name.toString('latin1').toLowerCase();
        p += 3 + nameLen;
      }
    } else if (type === EXT_ALPN && ext.length >= 2) {
      let p = 2;
      while (p < ext.length) {
        const l = ext[p]!;
        const proto = ext.subarray(p + 1, p + 1 + l);
        if (proto.length < l || l === 0) return { kind: 'invalid' };
        alpn.push(proto.toString('latin1'));
        p += 1 + l;
      }
    }
  }
  return { kind: 'hello', servername, alpn };
}
