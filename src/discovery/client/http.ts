import dns from 'node:dns';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * The HTTPS GET every discovery step uses (client side, also reused by the command-line client and
 * server-side lookups): HTTPS only (RFC 7033 §4.2), certificate checked against the URL's host,
 * bounded size and time, redirects followed only to https URLs, optional blocking of private
 * addresses after DNS resolution, and explicit host overrides for tests and
 * split-horizon setups (like curl's --connect-to).
 */

export interface HttpOptions {
  /** Extra CA certificates (PEM) trusted besides the system store. */
  readonly ca?: string | readonly string[];
  /** `host` → `address:port` to connect to instead; the certificate is still checked for `host`. */
  readonly connectTo?: ReadonlyMap<string, { host: string; port: number }>;
  /** Resolve host names with these DNS servers (`ip` or `ip:port`) instead of the system resolver. */
  readonly resolver?: readonly string[];
  /** Refuse loopback, private, link-local and ULA targets (server-side fetches). Overrides are exempt. */
  readonly blockPrivate?: boolean;
  /** Per-request time limit, default 10 s. */
  readonly timeoutMs?: number;
  /** Largest body read, default 256 KiB. */
  readonly maxBytes?: number;
  /** Redirects followed (to https only), default 3. */
  readonly maxRedirects?: number;
  readonly userAgent?: string;
}

export interface HttpResult {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** URLs that redirected to `url`, in order. */
  readonly redirects: readonly string[];
}

/** A failure before any HTTP status: DNS, TCP, TLS (bad certificate), timeout, size, policy. */
export class FetchError extends Error {
  readonly url: string;
  /** The system error code when there is one (`ENOTFOUND`, `ECONNREFUSED`, …). */
  readonly code: string | undefined;
  constructor(url: string, message: string, code?: string) {
    super(message);
    this.name = 'FetchError';
    this.url = url;
    this.code = code;
  }
}

// Two lists: a BlockList matches an IPv4 address against IPv4-mapped IPv6 rules too, so
// `::ffff:0:0/96` in a shared list would call every IPv4 address private.
const PRIVATE4 = new BlockList();
const PRIVATE6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE6.addSubnet(net, prefix, 'ipv6');

/** True for addresses a server-side fetch must never reach (loopback, RFC 1918, link-local, ULA, metadata). */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  if (family === 6 && ip.toLowerCase().startsWith('::ffff:')) {
    const v4 = ip.slice(7);
    if (isIP(v4) === 4) return PRIVATE4.check(v4, 'ipv4');
  }
  return family === 4 ? PRIVATE4.check(ip, 'ipv4') : PRIVATE6.check(ip, 'ipv6');
}

type LookupAll = (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void;
type LookupOne = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

function makeLookup(options: HttpOptions) {
  const resolver = options.resolver?.length ? new dns.promises.Resolver({ timeout: 3000, tries: 2 }) : undefined;
  resolver?.setServers([...options.resolver!]);
  const resolve = async (host: string): Promise<dns.LookupAddress[]> => {
    if (isIP(host)) return [{ address: host, family: isIP(host) }];
    if (!resolver) return dns.promises.lookup(host, { all: true });
    const [v4, v6] = await Promise.all([resolver.resolve4(host).catch(() => []), resolver.resolve6(host).catch(() => [])]);
    const all = [...v4.map((a) => ({ address: a, family: 4 })), ...v6.map((a) => ({ address: a, family: 6 }))];
    if (!all.length) throw Object.assign(new Error(`${host} has no A or AAAA record`), { code: 'ENOTFOUND' });
    return all;
  };
  return (host: string, opts: { all?: boolean }, cb: LookupAll | LookupOne) => {
    resolve(host).then(
      (all) => {
        const allowed = options.blockPrivate ? all.filter((a) => !isPrivateAddress(a.address)) : all;
        if (!allowed.length) {
          const err = Object.assign(new Error(`${host} resolves only to private addresses`), { code: 'EPRIVATE' });
          return opts.all ? (cb as LookupAll)(err, []) : (cb as LookupOne)(err, '', 0);
        }
        if (opts.all) (cb as LookupAll)(null, allowed);
        else (cb as LookupOne)(null, allowed[0]!.address, allowed[0]!.family);
      },
      (err: NodeJS.ErrnoException) => (opts.all ? (cb as LookupAll)(err, []) : (cb as LookupOne)(err, '', 0)),
    );
  };
}

function once(url: URL, options: HttpOptions, accept: string): Promise<Omit<HttpResult, 'redirects' | 'url'>> {
  const override = options.connectTo?.get(url.hostname.toLowerCase());
  const port = override?.port ?? Number(url.port || 443);
  const host = override?.host ?? url.hostname.replace(/^\[|\]$/g, '');
  if (!override && options.blockPrivate && isIP(host) && isPrivateAddress(host)) {
    return Promise.reject(new FetchError(url.href, `${host} is a private address`));
  }
  const maxBytes = options.maxBytes ?? 256 * 1024;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        servername: isIP(url.hostname) ? undefined : url.hostname,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { host: url.host, accept, 'user-agent': options.userAgent ?? 'fingerpost-discover/1' },
        ca: options.ca ? [...(typeof options.ca === 'string' ? [options.ca] : options.ca)] : undefined,
        lookup: override ? undefined : (makeLookup(options) as never),
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
        minVersion: 'TLSv1.2',
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new FetchError(url.href, `the answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => reject(new FetchError(url.href, err.message)));
      },
    );
    req.on('timeout', () => req.destroy(new FetchError(url.href, 'timed out')));
    req.on('error', (err) =>
      reject(err instanceof FetchError ? err : new FetchError(url.href, describe(err), (err as NodeJS.ErrnoException).code)),
    );
    req.end();
  });
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOTFOUND') return 'the host name does not resolve';
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'EPRIVATE') return err.message;
  if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(err.code))
    return `TLS certificate not trusted: ${err.message}`;
  return err.message;
}

/** GET `url` over HTTPS only; a 3xx to an https URL is followed, anything else is returned as is. */
export async function httpsGet(url: string, options: HttpOptions = {}, accept = 'application/json'): Promise<HttpResult> {
  const redirects: string[] = [];
  let current = new URL(url);
  for (;;) {
    if (current.protocol !== 'https:') throw new FetchError(current.href, 'only https URLs are fetched (RFC 7033 §4.2)');
    const res = await once(current, options, accept);
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof location === 'string') {
      if (redirects.length >= (options.maxRedirects ?? 3)) throw new FetchError(current.href, 'too many redirects');
      const next = new URL(location, current);
      if (next.protocol !== 'https:') throw new FetchError(current.href, `redirected to a non-https URL (${next.protocol})`);
      redirects.push(current.href);
      current = next;
      continue;
    }
    return { ...res, url: current.href, redirects };
  }
}

/** Parses a JSON object body; undefined when it is not one (JSON arrays and scalars are refused). */
export function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
