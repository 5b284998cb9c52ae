import tls from 'node:tls';

/** The ALPN protocol a tls-alpn-01 validation offers (RFC 8737 §6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** At most this many challenges answered at once (one per name being validated). */
const MAX_PENDING = 1000;

/**
 * The answers to ACME challenges in progress: http-01 key authorizations by token (RFC 8555
 * §8.3) and tls-alpn-01 certificates by name (RFC 8737 §3). Filled while an order is validated,
 * emptied when it is done; the responders (src/net/acme/http-responder.ts, src/net/listener.ts)
 * read them.
 */
export class AcmeChallenges {
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, tls.SecureContext>();

  /** Answers GET /.well-known/acme-challenge/TOKEN with `keyAuthorization` (RFC 8555 §8.3). */
  addHttp(token: string, keyAuthorization: string): void {
    if (this.#http.size >= MAX_PENDING) this.#http.delete(this.#http.keys().next().value!);
    this.#http.set(token, keyAuthorization);
  }

  removeHttp(token: string): void {
    this.#http.delete(token);
  }

  /** The key authorization for an http-01 token, if one is pending. */
  http(token: string): string | undefined {
    return this.#http.get(token);
  }

  /** Presents `certPem` (with the acmeIdentifier extension) to an `acme-tls/1` handshake for `name` (RFC 8737 §3). */
  addAlpn(name: string, certPem: string | Buffer, keyPem: string | Buffer): void {
    if (this.#alpn.size >= MAX_PENDING) this.#alpn.delete(this.#alpn.keys().next().value!);
    this.#alpn.set(name.toLowerCase(), tls.createSecureContext({ cert: certPem, key: keyPem }));
  }

  removeAlpn(name: string): void {
    this.#alpn.delete(name.toLowerCase());
  }

  /** True while any tls-alpn-01 challenge waits: only then do TLS listeners look at the ClientHello first. */
  alpnPending(): boolean {
    return this.#alpn.size > 0;
  }

  /** The challenge certificate for `name`, if one is pending. */
  alpn(name: string): tls.SecureContext | undefined {
    return this.#alpn.get(name.toLowerCase());
  }
}
