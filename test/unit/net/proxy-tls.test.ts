// A proxy that forwards TLS with the PROXY protocol (HAProxy, nginx `proxy_protocol on`) writes
// its header and the client's ClientHello in one segment once it has both: the HTTPS listener
// must read the header and hand the ClientHello that came with it to TLS, not lose it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConnectionLimiter } from '../../../src/net/limits.ts';
import { type Listener, peerOf, startListener } from '../../../src/net/listener.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { loadTls, serverTlsOptions } from '../../../src/net/tls.ts';

describe('PROXY header and ClientHello in one segment (HTTPS listener)', () => {
  let dir: string;
  let ca: string;
  let listener: Listener;
  let relay: net.Server;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-proxy-tls-'));
    const files = await ensureLocalTls(dir, []);
    ca = await readFile(files.caCert, 'utf8');
    const material = loadTls(files.cert, files.key, 'TLSv1.2', files.caCert);
    const server = https.createServer(serverTlsOptions(material), (req, res) => res.end(`from ${peerOf(req.socket).remoteAddress}`));
    listener = await startListener({
      info: { name: 'https', protocol: 'http', implicitTls: true },
      bind: '127.0.0.1',
      port: 0,
      tls: material,
      limiter: new ConnectionLimiter({ total: 100, perIp: 100, preloginShare: 1 }),
      proxy: { enabled: true, from: ['127.0.0.1/32'] },
      idleTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      handler: { https: server },
    });
    // The proxy: waits for the client's first bytes, then sends header + those bytes in one write.
    relay = net.createServer((client) => {
      client.once('data', (first) => {
        const upstream = net.connect({ host: '127.0.0.1', port: listener.info.port }, () => {
          upstream.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.1 40000 443\r\n'), first]));
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
      });
      client.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    relay?.close();
    await listener?.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the request and sees the address from the header', async () => {
    const port = (relay.address() as net.AddressInfo).port;
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, servername: 'localhost', ca, path: '/', agent: false }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.equal(body, 'from 203.0.113.9');
  });
});
