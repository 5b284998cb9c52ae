import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { FingerpostError } from '../core/errors.ts';
import type { AcmeChallenges } from './acme/challenges.ts';

/** TLS material for every listener; `context` is swapped in place when certificates are reloaded. */
export interface TlsMaterial {
  context: tls.SecureContext;
  cert: Buffer;
  key: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
  readonly minVersion: tls.SecureVersion;
  /** The CA a client should trust (the local CA), when we made one. */
  readonly caFile: string | undefined;
  /**
   * Certificates for other names, chosen by SNI (src/net/local-ca.ts `localCaCertificates`);
   * undefined from it, or no `sni`, means the default `context`.
   */
  sni?: (servername: string) => Promise<tls.SecureContext | undefined>;
  /** ACME challenges in progress: TLS listeners answer tls-alpn-01 validations from it (src/net/acme/alpn-responder.ts). */
  acme?: AcmeChallenges;
}

/** Loads a PEM certificate chain and key into a secure context, with a clear error when they are wrong. */
export function loadTls(certFile: string, keyFile: string, minVersion: tls.SecureVersion, caFile?: string): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    throw new FingerpostError('tls_failure', `cannot read TLS certificate or key: ${(err as Error).message}`, {
      hint: 'set tls.cert and tls.key to readable PEM files, or leave both empty to use the local CA',
    });
  }
  try {
    const context = tls.createSecureContext({ cert, key, minVersion });
    return { context, cert, key, certFile, keyFile, minVersion, caFile };
  } catch (err) {
    throw new FingerpostError('tls_failure', `the TLS certificate and key do not load: ${(err as Error).message}`, {
      hint: 'check that tls.key is the private key of tls.cert',
    });
  }
}

/**
 * Reads the certificate and key files again and swaps them into `material` (SIGHUP, after a
 * renewal by another tool): connections made from now on get them, open ones keep theirs. Files
 * that do not load throw, and the certificate in use stays.
 */
export function reloadTls(material: TlsMaterial): void {
  const fresh = loadTls(material.certFile, material.keyFile, material.minVersion, material.caFile);
  material.cert = fresh.cert;
  material.key = fresh.key;
  material.context = fresh.context;
}

/** Server options for `tls.createServer` / `new TLSSocket` using the current context. */
export function serverTlsOptions(material: TlsMaterial): tls.TlsOptions {
  // cert/key make the default context for clients that send no SNI (IP literals); SNI gets `context`.
  return {
    cert: material.cert,
    key: material.key,
    SNICallback: (servername, cb) => {
      const sni = material.sni;
      if (!sni) return cb(null, material.context);
      sni(servername).then(
        (context) => cb(null, context ?? material.context),
        () => cb(null, material.context),
      );
    },
    secureContext: material.context,
    minVersion: material.minVersion,
  };
}
