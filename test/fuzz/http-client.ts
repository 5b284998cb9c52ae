// HTTPS requests for the HTTP fuzz runs: a keep-alive client for well-formed requests with any body,
// and a raw one that writes the request head byte for byte (paths and headers node's client refuses).
import https from 'node:https';
import tls from 'node:tls';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A keep-alive client trusting `ca`. */
export function httpsClient(
  base: string,
  ca: string,
): {
  request(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<HttpAnswer>;
  close(): void;
} {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca });
  return {
    request: (method, path, headers, body) =>
      new Promise((resolve, reject) => {
        const req = https.request(new URL(path, base), { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** Writes `head` (request line and headers, CRLF-separated, without the blank line) and `body` on a fresh TLS connection. */
export function rawRequest(port: number, ca: string, head: Buffer, body: Buffer = Buffer.alloc(0)): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => {
      s.write(Buffer.concat([head, Buffer.from(`\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
    });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const headText = all.subarray(0, end < 0 ? all.length : end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(headText)?.[1] ?? '';
      let body: Buffer = end < 0 ? Buffer.alloc(0) : all.subarray(end + 4);
      if (/\r\ntransfer-encoding: *chunked/i.test(headText)) body = unchunk(body);
      resolve({ status, contentType, body });
    });
  });
}

function unchunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = Number.parseInt(data.subarray(pos, eol).toString('latin1'), 16);
    if (!size) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
