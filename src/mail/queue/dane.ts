import { createHash, type X509Certificate } from 'node:crypto';
import { RR, type SecureResolver } from './secure-dns.ts';

/** A TLSA record (RFC 6698 §2.1). */
export interface Tlsa {
  readonly usage: number;
  readonly selector: number;
  readonly matching: number;
  readonly data: Buffer;
}

/** What the TLSA lookup for one MX host says (RFC 7672 §2.2). */
export type DaneLookup =
  /** No validated TLSA records: opportunistic TLS as without DANE. */
  | { readonly kind: 'none' }
  /** Usable records: STARTTLS required and the certificate must match one of them. */
  | { readonly kind: 'dane'; readonly records: readonly Tlsa[] }
  /** Validated records, none usable (PKIX usages, unknown types): STARTTLS required, not authenticated. */
  | { readonly kind: 'unusable' }
  /** The lookup failed (SERVFAIL, timeout): this host must not be used now. */
  | { readonly kind: 'error'; readonly error: string };

/**
 * RFC 7672 §3.1.3: SMTP clients use only DANE-TA(2) and DANE-EE(3); selectors Cert(0) and
 * SPKI(1); matching Full(0), SHA2-256(1) and SHA2-512(2) (RFC 6698 §2.1.2-2.1.3).
 */
export function usableTlsa(records: readonly Tlsa[]): Tlsa[] {
  return records.filter(
    (r) => (r.usage === 2 || r.usage === 3) && r.selector <= 1 && r.matching <= 2 && (r.matching !== 0 || r.data.length > 0),
  );
}

/** Does certificate `cert` match record `r` (RFC 6698 §2.1.2 selector, §2.1.3 matching)? */
export function tlsaMatches(r: Tlsa, cert: X509Certificate): boolean {
  const selected = r.selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
  const value =
    r.matching === 0
      ? selected
      : createHash(r.matching === 1 ? 'sha256' : 'sha512')
          .update(selected)
          .digest();
  return value.length === r.data.length && value.equals(r.data);
}

/**
 * Authenticates a server chain (leaf first) against usable TLSA records (RFC 7672 §3.1):
 * DANE-EE(3) matches the leaf alone, with no name or date checks (§3.1.1); DANE-TA(2) matches a
 * certificate of the presented chain that signs, through the chain, a leaf valid now whose name is
 * one of `names` (the MX host, or the destination domain; §3.1.2, §3.2.3). Returns an error, or
 * undefined when a record matches.
 */
export function daneVerify(
  chain: readonly X509Certificate[],
  records: readonly Tlsa[],
  names: readonly string[],
  now: Date,
): string | undefined {
  const leaf = chain[0];
  if (!leaf) return 'the server presented no certificate';
  if (records.some((r) => r.usage === 3 && tlsaMatches(r, leaf))) return undefined;
  const ta = records.filter((r) => r.usage === 2);
  if (!ta.length) return 'the certificate matches no DANE-EE TLSA record';
  // Walk up from the leaf by signature, at most the presented chain's length.
  let cert = leaf;
  for (let depth = 0; depth <= chain.length; depth++) {
    if (ta.some((r) => tlsaMatches(r, cert))) {
      if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo)) return 'the certificate is not valid now (DANE-TA)';
      if (!names.some((n) => leaf.checkHost(n, { wildcards: true, singleLabelSubdomains: false }) !== undefined))
        return `the certificate names none of ${names.join(', ')} (DANE-TA)`;
      return undefined;
    }
    const issuer = chain.find((c) => c !== cert && cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!issuer) break;
    cert = issuer;
  }
  return 'no certificate of the chain matches a DANE-TA TLSA record';
}

/**
 * DANE lookups for outbound SMTP (RFC 7672 §2.2) through a resolver whose AD bit is trusted: is
 * the domain's MX RRset validated, and which TLSA records does `_port._tcp.host` have.
 */
export class DaneLookups {
  readonly #resolver: SecureResolver;

  constructor(resolver: SecureResolver) {
    this.#resolver = resolver;
  }

  /**
   * RFC 7672 §2.2.1: DANE applies to a domain only when its MX RRset (or its absence, for the
   * implicit MX) is validated; an insecure or failed lookup leaves delivery as without DANE.
   */
  async mxSecure(domain: string): Promise<boolean> {
    try {
      const a = await this.#resolver.query(domain, RR.MX);
      return a.secure && (a.rcode === 0 || a.rcode === 3);
    } catch {
      return false;
    }
  }

  /** RFC 7672 §2.2.2: the TLSA RRset of one MX host; only validated answers count. */
  async tlsa(host: string, port: number): Promise<DaneLookup> {
    let a: Awaited<ReturnType<SecureResolver['query']>>;
    try {
      a = await this.#resolver.query(`_${port}._tcp.${host}`, RR.TLSA);
    } catch (err) {
      return { kind: 'error', error: `TLSA lookup for ${host} failed (${(err as { code?: string }).code ?? (err as Error).message})` };
    }
    if (a.rcode === 3 || (a.rcode === 0 && !a.records.some((r) => r.tlsa))) return { kind: 'none' };
    if (a.rcode !== 0) return { kind: 'error', error: `TLSA lookup for ${host} failed (rcode ${a.rcode})` };
    if (!a.secure) return { kind: 'none' };
    const records = usableTlsa(a.records.flatMap((r) => (r.tlsa ? [r.tlsa] : [])));
    return records.length ? { kind: 'dane', records } : { kind: 'unusable' };
  }
}
