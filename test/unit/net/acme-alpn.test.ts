// tls-alpn-01 on a real HTTPS listener (RFC 8737 §3): while a challenge is pending, a handshake that
// offers `acme-tls/1` for that name gets the challenge certificate and nothing else, and every other
// handshake (browsers, mail clients, `acme-tls/1` for another name) gets the ordinary certificate and
// a working connection; the ClientHello reader handles real ClientHellos, truncated ones and junk.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import * as acme from 'acme-client';
import { AcmeChallenges } from '../../../src/net/acme/challenges.ts';
import { peekClientHello } from '../../../src/net/acme/client-hello.ts';
import { ConnectionLimiter } from '../../../src/net/limits.ts';
import { type Listener, startListener } from '../../../src/net/listener.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { loadTls, serverTlsOptions, type TlsMaterial } from '../../../src/net/tls.ts';

/** The first bytes Node's TLS client sends (its ClientHello) for these options. */
function clientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ ...options, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
      c.on('error', () => {});
    });
  });
}

/** True for a certificate with the acmeIdentifier extension (RFC 8737 §3) of the pending challenge. */
function isChallengeCertificate(pem: string): boolean {
  try {
    return acme.crypto.isAlpnCertificateAuthorizationValid(pem, 'token.thumbprint');
  } catch {
    return false; // no acmeIdentifier extension at all
  }
}

describe('ClientHello reader (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1)', () => {
  it('reads the server name and the offered protocols of a real ClientHello', async () => {
    const hello = await clientHello({ servername: 'Mail.Example.test', ALPNProtocols: ['acme-tls/1', 'h2'] });
    assert.deepEqual(peekClientHello(hello), { kind: 'hello', servername: 'mail.example.test', alpn: ['acme-tls/1', 'h2'] });
    const plain = await clientHello({ servername: 'a.test' });
    assert.deepEqual(peekClientHello(plain), { kind: 'hello', servername: 'a.test', alpn: [] });
  });

  it('waits for the rest of a truncated ClientHello and refuses what is not one', async () => {
    const hello = await clientHello({ servername: 'a.test', ALPNProtocols: ['acme-tls/1'] });
    for (const cut of [0, 3, 5, 20, hello.length - 1])
      assert.equal(peekClientHello(hello.subarray(0, cut)).kind, 'incomplete', `cut at ${cut}`);
    assert.equal(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind, 'invalid');
    const lying = Buffer.from(hello);
    lying.writeUInt16BE(0xffff, 3); // a record longer than TLS allows
    assert.equal(peekClientHello(lying).kind, 'invalid');
  });
});

describe('tls-alpn-01 answered by the HTTPS listener (RFC 8737 §3)', () => {
  let dir: string;
  let material: TlsMaterial;
  let ca: string;
  let listener: Listener;
  let port: number;
  const challenges = new AcmeChallenges();

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-alpn-'));
    const files = await ensureLocalTls(dir, []);
    ca = await readFile(files.caCert, 'utf8');
    material = { ...loadTls(files.cert, files.key, 'TLSv1.2', files.caCert), acme: challenges };
    const server = https.createServer(serverTlsOptions(material), (_req, res) => res.end('hello'));
    listener = await startListener({
      info: { name: 'https', protocol: 'http', implicitTls: true },
      bind: '127.0.0.1',
      port: 0,
      tls: material,
      limiter: new ConnectionLimiter({ total: 100, perIp: 100, preloginShare: 1 }),
      proxy: { enabled: false, from: [] },
      idleTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      handler: { https: server },
    });
    port = listener.info.port;
    const authz = { identifier: { type: 'dns', value: 'alpn.test' } } as Parameters<typeof acme.crypto.createAlpnCertificate>[0];
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, 'token.thumbprint');
    challenges.addAlpn('alpn.test', cert, key);
  });

  after(async () => {
    await listener?.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  function handshake(options: tls.ConnectionOptions): Promise<{ alpn: string | false; pem: string; data: string }> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ ...options, host: '127.0.0.1', port }, () => {
        const pem = s.getPeerX509Certificate()!.toString();
        const alpn = s.alpnProtocol ?? false;
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve({ alpn, pem, data }));
        s.on('close', () => resolve({ alpn, pem, data }));
        if (alpn !== 'acme-tls/1') s.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      s.on('error', reject);
    });
  }

  it('presents the challenge certificate to acme-tls/1 for the pending name, and closes', async () => {
    assert.equal(challenges.alpnPending(), true);
    const r = await handshake({ servername: 'alpn.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false });
    assert.equal(r.alpn, 'acme-tls/1');
    assert.equal(isChallengeCertificate(r.pem), true);
    assert.equal(r.data, '', 'no application data on an acme-tls/1 connection (RFC 8737 §4)');
  });

  it('serves ordinary clients normally while the challenge is pending', async () => {
    const r = await handshake({ servername: 'localhost', ca });
    assert.equal(isChallengeCertificate(r.pem), false);
    assert.match(r.data, /^HTTP\/1\.1 200 OK[\s\S]*hello$/);
    // A browser-like client for the challenged name itself, offering http/1.1, is not given the challenge certificate.
    const b = await handshake({ servername: 'alpn.test', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false });
    assert.equal(isChallengeCertificate(b.pem), false);
    assert.match(b.data, /^HTTP\/1\.1 200 OK/);
    // acme-tls/1 for a name with no pending challenge goes to the ordinary handshake, which speaks
    // only http/1.1 and so refuses it (RFC 7301 §3.2), rather than presenting some certificate.
    await assert.rejects(handshake({ servername: 'other.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false }), {
      code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    });
  });

  it('stops looking at ClientHellos once no challenge is pending', async () => {
    challenges.removeAlpn('alpn.test');
    assert.equal(challenges.alpnPending(), false);
    await assert.rejects(handshake({ servername: 'alpn.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false }), {
      code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    });
    const r = await handshake({ servername: 'alpn.test', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false });
    assert.equal(isChallengeCertificate(r.pem), false);
  });
});
