import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** PEM files of the local CA and the server certificate it issued. */
export interface LocalTlsFiles {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  // A positive 16-byte serial (RFC 5280 §4.1.2.2).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function sanFor(hostnames: readonly string[]): x509.JsonGeneralName[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', ...hostnames]);
  return [...names].map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n }));
}

async function issueServerCert(caKey: CryptoKey, caCert: x509.X509Certificate, hostnames: readonly string[]) {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostnames[0] ?? 'localhost'}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 397 * DAY),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sanFor(hostnames)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

function certCovers(certPem: string, hostnames: readonly string[]): boolean {
  const cert = new NodeX509(certPem);
  if (new Date(cert.validTo).getTime() < Date.now() + 30 * DAY) return false;
  return hostnames.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

/**
 * Makes sure DIR/tls holds a local CA (`ca.pem`, `ca.key`) and a server certificate for localhost
 * and `hostnames` (`server.pem`, `server.key`). The CA is made once; the server certificate is
 * re-issued when a host name is missing or it nears expiry. Keys are written with mode 0600.
 */
export async function ensureLocalTls(dataDir: string, hostnames: readonly string[]): Promise<LocalTlsFiles & { created: boolean }> {
  const dir = path.join(dataDir, 'tls');
  const files = {
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
  };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  let caKey: CryptoKey;
  let caCert: x509.X509Certificate;
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    caCert = new x509.X509Certificate(readFileSync(files.caCert, 'utf8'));
    const der = Buffer.from(readFileSync(files.caKey, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    caKey = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
  } else {
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=Fingerpost local CA ${new Date(now).toISOString().slice(0, 10)}`,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 10 * 365 * DAY),
      signingAlgorithm: SIGN,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    writeFileSync(files.caKey, pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
    writeFileSync(files.caCert, caCert.toString('pem') + '\n', { mode: 0o644 });
    created = true;
  }
  const wanted = ['localhost', ...hostnames];
  if (!existsSync(files.cert) || !existsSync(files.key) || !certCovers(readFileSync(files.cert, 'utf8'), wanted)) {
    const issued = await issueServerCert(caKey, caCert, hostnames.length ? hostnames : ['localhost']);
    writeFileSync(files.key, issued.key, { mode: 0o600 });
    writeFileSync(files.cert, issued.cert, { mode: 0o644 });
    created = true;
  }
  return { caCert: files.caCert, cert: files.cert, key: files.key, created };
}
