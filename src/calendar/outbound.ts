import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import tls from 'node:tls';
import { FingerpostError } from '../core/errors.ts';

/**
 * Outbound HTTP(S) for URLs this server learns from others (subscribed feeds, WebFinger answers,
 * issuer metadata, JWKS, remote free/busy), guarded against SSRF: the address
 * is checked after DNS resolution and the connection goes to exactly that address, redirects are
 * limited and re-checked, bodies are size-limited and not decompressed, every request has a deadline.
 */

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv6');

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedV4(ip: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = Number.parseInt(m[2]!, 16);
  const lo = Number.parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for addresses on the public internet; false for loopback, private, link-local, reserved. */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return !BLOCKED.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedV4(ip.toLowerCase());
    if (v4) return isPublicAddress(v4);
    return !BLOCKED.check(ip, 'ipv6');
  }
  return false;
}

/** Why an outbound request failed; `message` is safe to log and to show to the asking user. */
export type OutboundFailure = 'blocked' | 'scheme' | 'dns' | 'network' | 'tls' | 'timeout' | 'too_large' | 'redirect' | 'status';

/** A refused or failed outbound request, with the reason class. */
export class OutboundError extends FingerpostError {
  readonly reason: OutboundFailure;
  constructor(reason: OutboundFailure, message: string) {
    super('unavailable', message, { context: { reason } });
    this.name = 'OutboundError';
    this.reason = reason;
  }
}

/** The guard's settings (from `[calendar]`). */
export interface OutboundOptions {
  /** Allow non-public addresses (config `calendar.allow_private_addresses`). */
  readonly allowPrivate: boolean;
  /** Fixed host → address[:port] mappings (config `calendar.resolve`); these may be private. */
  readonly resolve: ReadonlyMap<string, { readonly address: string; readonly port?: number }>;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  readonly extraCa?: string;
  readonly timeoutMs: number;
  readonly userAgent: string;
}

/** One GET: headers, size limit, redirects allowed, whether only HTTPS will do. */
export interface OutboundRequest {
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBytes: number;
  /** 0 by default: a request carrying an assertion must not be replayed elsewhere. */
  readonly maxRedirects?: number;
  readonly httpsOnly?: boolean;
}

/** The answer of an outbound GET (any status; the caller decides). */
export interface OutboundResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

/** Parses `host=address[:port]` entries of `calendar.resolve`. */
export function parseResolveEntries(entries: readonly string[]): Map<string, { address: string; port?: number }> {
  const out = new Map<string, { address: string; port?: number }>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const host = entry.slice(0, eq).toLowerCase();
    const target = entry.slice(eq + 1);
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target) ?? [target, target, undefined];
    const address = m[1]!;
    if (!isIP(address)) throw new FingerpostError('config_invalid', `calendar.resolve entry "${entry}": ${address} is not an IP address`);
    out.set(host, m[2] ? { address, port: Number(m[2]) } : { address });
  }
  return out;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The SSRF-guarded HTTP client. One instance per process; it holds no connections between requests. */
export class OutboundHttp {
  readonly #options: OutboundOptions;
  readonly #ca: string[] | undefined;

  constructor(options: OutboundOptions) {
    this.#options = options;
    this.#ca = options.extraCa ? [...tls.rootCertificates, options.extraCa] : undefined;
  }

  /** GET with the guard; follows at most `maxRedirects` redirects (same or upgraded scheme only). */
  async get(url: string, request: OutboundRequest): Promise<OutboundResponse> {
    let current = url;
    let headers = { ...(request.headers ?? {}) };
    const deadline = AbortSignal.timeout(this.#options.timeoutMs);
    for (let hop = 0; ; hop++) {
      const target = this.#check(current, request.httpsOnly ?? false);
      const res = await this.#once(target, headers, request.maxBytes, deadline);
      if (!REDIRECTS.has(res.status)) return { ...res, url: current };
      const location = res.headers.location;
      if (!location) return { ...res, url: current };
      if (hop >= (request.maxRedirects ?? 0)) throw new OutboundError('redirect', `${target.origin} redirected more often than allowed`);
      const next = new URL(location, current);
      if (target.protocol === 'https:' && next.protocol !== 'https:')
        throw new OutboundError('redirect', `${target.origin} redirected from https to ${next.protocol}`);
      if (next.origin !== target.origin)
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      current = next.toString();
    }
  }

  /**
   * POST with the same guard and no redirects (RFC 8030 §5 push messages, RFC 8620 §7.2 push
   * subscriptions): the body goes to exactly the checked address; the answer's body is size-limited.
   */
  async post(url: string, request: { headers: Readonly<Record<string, string>>; body: Buffer; maxBytes: number; httpsOnly: boolean }) {
    const target = this.#check(url, request.httpsOnly);
    const res = await this.#once(
      target,
      { ...request.headers },
      request.maxBytes,
      AbortSignal.timeout(this.#options.timeoutMs),
      request.body,
    );
    return { ...res, url };
  }

  #check(raw: string, httpsOnly: boolean): URL {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new OutboundError('scheme', `"${raw.slice(0, 100)}" is not a URL`);
    }
    if (u.protocol !== 'https:' && (httpsOnly || u.protocol !== 'http:'))
      throw new OutboundError('scheme', `${u.protocol} URLs are not fetched${httpsOnly ? ' (HTTPS only)' : ''}`);
    if (u.username || u.password) throw new OutboundError('scheme', 'URLs with credentials are not fetched');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.#options.allowPrivate && !isPublicAddress(host))
      throw new OutboundError('blocked', `${host} is not a public address`);
    return u;
  }

  #lookup(hostname: string): (host: string, opts: dns.LookupOptions, cb: (...args: unknown[]) => void) => void {
    return (host, opts, cb) => {
      const done = (err: Error | null, addresses: dns.LookupAddress[]) => {
        if (err) return cb(err);
        if (opts.all) return cb(null, addresses);
        return cb(null, addresses[0]!.address, addresses[0]!.family);
      };
      const fixed = this.#options.resolve.get(hostname.toLowerCase());
      if (fixed) return done(null, [{ address: fixed.address, family: isIP(fixed.address) }]);
      dns.lookup(host, { all: true, verbatim: true }, (err, addresses) => {
        if (err)
          return done(new OutboundError('dns', `cannot resolve ${hostname} (${(err as NodeJS.ErrnoException).code ?? err.message})`), []);
        if (addresses.length === 0) return done(new OutboundError('dns', `${hostname} has no address`), []);
        if (!this.#options.allowPrivate) {
          // Any non-public record refuses the host: mixing records must not smuggle one in.
          const bad = addresses.find((a) => !isPublicAddress(a.address));
          if (bad) return done(new OutboundError('blocked', `${hostname} resolves to ${bad.address}, which is not a public address`), []);
        }
        done(null, addresses);
      });
    };
  }

  #once(
    u: URL,
    headers: Record<string, string>,
    maxBytes: number,
    signal: AbortSignal,
    body?: Buffer,
  ): Promise<Omit<OutboundResponse, 'url'>> {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const fixed = this.#options.resolve.get(host.toLowerCase());
    const secure = u.protocol === 'https:';
    const port = fixed?.port ?? (u.port ? Number(u.port) : secure ? 443 : 80);
    const options: https.RequestOptions = {
      method: body ? 'POST' : 'GET',
      host,
      port,
      path: `${u.pathname}${u.search}`,
      headers: {
        'user-agent': this.#options.userAgent,
        'accept-encoding': 'identity',
        host: u.host,
        ...headers,
        ...(body ? { 'content-length': String(body.length) } : {}),
      },
      agent: false,
      signal,
      lookup: this.#lookup(host) as never,
      ...(secure ? { servername: isIP(host) ? undefined : host, ca: this.#ca, rejectUnauthorized: true } : {}),
    };
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(classify(err, u));
      const req = (secure ? https : http).request(options, (res) => {
        const length = Number(res.headers['content-length'] ?? 0);
        if (length > maxBytes) {
          res.destroy();
          return reject(new OutboundError('too_large', `${u.origin} answered ${length} bytes, more than ${maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new OutboundError('too_large', `${u.origin} sent more than ${maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(body);
    });
  }
}

function classify(err: Error, u: URL): OutboundError {
  if (err instanceof OutboundError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (err.name === 'AbortError' || err.name === 'TimeoutError' || code === 'ABORT_ERR')
    return new OutboundError('timeout', `${u.origin} did not answer in time`);
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|ERR_TLS/.test(code) || /certificate|altnames/i.test(err.message))
    return new OutboundError('tls', `TLS with ${u.host} failed (${code || err.message})`);
  if (err.cause instanceof OutboundError) return err.cause;
  return new OutboundError('network', `cannot reach ${u.origin} (${code || err.message})`);
}
