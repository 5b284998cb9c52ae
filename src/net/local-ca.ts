import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
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

function sanFor(hostnames: readonly string[], localhost = true): x509.JsonGeneralName[] {
  const names = new Set([...(localhost ? ['localhost', '127.0.0.1', '::1'] : []), ...hostnames]);
  return [...names].map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n }));
}

async function issueServerCert(
  caKey: CryptoKey,
  caCert: x509.X509Certificate,
  hostnames: readonly string[],
  options: { localhost: boolean } = { localhost: true },
) {
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
      new x509.SubjectAlternativeNameExtension(sanFor(hostnames, options.localhost)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/** Certificates are issued again this long before they expire. */
const RENEW_BEFORE = 30 * DAY;

function certCovers(certPem: string, hostnames: readonly string[], now = Date.now()): boolean {
  const cert = new NodeX509(certPem);
  if (new Date(cert.validTo).getTime() < now + RENEW_BEFORE) return false;
  return hostnames.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

interface LoadedCa {
  readonly caKey: CryptoKey;
  readonly caCert: x509.X509Certificate;
  readonly created: boolean;
}

/** Reads DIR/tls/ca.pem and ca.key, or makes them (once; the key with mode 0600). */
async function loadOrCreateCa(dir: string, files: { caCert: string; caKey: string }): Promise<LoadedCa> {
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    const caCert = new x509.X509Certificate(readFileSync(files.caCert, 'utf8'));
    const der = Buffer.from(readFileSync(files.caKey, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const caKey = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
    return { caKey, caCert, created: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Fingerpost local CA ${new Date(now).toISOString().slice(0, 10)}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 10 * 365 * DAY),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileSync(files.caKey, pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
  writeFileSync(files.caCert, caCert.toString('pem') + '\n', { mode: 0o644 });
  return { caKey: keys.privateKey, caCert, created: true };
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
  const ca = await loadOrCreateCa(dir, files);
  let created = ca.created;
  const wanted = ['localhost', ...hostnames];
  if (!existsSync(files.cert) || !existsSync(files.key) || !certCovers(readFileSync(files.cert, 'utf8'), wanted)) {
    const issued = await issueServerCert(ca.caKey, ca.caCert, hostnames.length ? hostnames : ['localhost']);
    writeFileSync(files.key, issued.key, { mode: 0o600 });
    writeFileSync(files.cert, issued.cert, { mode: 0o644 });
    created = true;
  }
  return { caCert: files.caCert, cert: files.cert, key: files.key, created };
}

/** A DNS host name a certificate may be issued for (RFC 1123 §2.1 labels, at most 253 octets). */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Certificates kept in memory at once; more names than this are issued again when asked. */
const MAX_CACHED = 1000;

/**
 * Certificates on demand from the local CA, chosen by SNI (RFC 6066 §3): for each name `allowed`
 * accepts (the served domains and their discovery names, decided by the caller at each
 * handshake, so a domain added while the server runs is covered at once), one certificate is
 * issued, kept in DIR/tls/names/NAME.pem and .key (mode 0600) and in memory, and issued again
 * 30 days before it expires. Returns undefined for any other name, and for the names the default
 * certificate (`server.pem`) covers: the default certificate answers.
 */
export async function localCaCertificates(
  dataDir: string,
  minVersion: tls.SecureVersion,
  allowed: (name: string) => Promise<boolean>,
  now: () => number = Date.now,
): Promise<(servername: string) => Promise<tls.SecureContext | undefined>> {
  const dir = path.join(dataDir, 'tls');
  const ca = await loadOrCreateCa(dir, { caCert: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca.key') });
  const namesDir = path.join(dir, 'names');
  // Names the default certificate (server.pem: localhost, server.hostname) covers keep it.
  const serverPem = path.join(dir, 'server.pem');
  const byDefault = existsSync(serverPem) ? new NodeX509(readFileSync(serverPem, 'utf8')) : undefined;
  const cache = new Map<string, { context: tls.SecureContext; renewAt: number }>();
  const pending = new Map<string, Promise<tls.SecureContext | undefined>>();

  const load = async (name: string): Promise<tls.SecureContext | undefined> => {
    if (!(await allowed(name))) return undefined;
    const certFile = path.join(namesDir, `${name}.pem`);
    const keyFile = path.join(namesDir, `${name}.key`);
    let cert = existsSync(certFile) && existsSync(keyFile) ? readFileSync(certFile, 'utf8') : undefined;
    if (!cert || !certCovers(cert, [name], now())) {
      const issued = await issueServerCert(ca.caKey, ca.caCert, [name], { localhost: false });
      mkdirSync(namesDir, { recursive: true, mode: 0o700 });
      writeFileSync(`${keyFile}.tmp`, issued.key, { mode: 0o600 });
      renameSync(`${keyFile}.tmp`, keyFile);
      writeFileSync(`${certFile}.tmp`, issued.cert, { mode: 0o644 });
      renameSync(`${certFile}.tmp`, certFile);
      cert = issued.cert;
    }
    const context = tls.createSecureContext({ cert, key: readFileSync(keyFile), minVersion });
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(name, { context, renewAt: new Date(new NodeX509(cert).validTo).getTime() - RENEW_BEFORE });
    return context;
  };

  return async (servername) => {
    const name = servername.toLowerCase().replace(/\.$/, '');
    if (!HOST_NAME.test(name) || byDefault?.checkHost(name) !== undefined) return undefined;
    const hit = cache.get(name);
    if (hit && hit.renewAt > now()) return hit.context;
    let p = pending.get(name);
    if (!p) {
      p = load(name).finally(() => pending.delete(name));
      pending.set(name, p);
    }
    return p;
  };
}
