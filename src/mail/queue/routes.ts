import { promises as dns } from 'node:dns';

/** One host to try, in order. */
export interface Hop {
  readonly host: string;
  readonly port: number;
}

export type RouteResult =
  | { readonly kind: 'hops'; readonly hops: readonly Hop[] }
  /** DNS says the domain cannot receive mail (NXDOMAIN, null MX): bounce. */
  | { readonly kind: 'permanent'; readonly error: string; readonly status: string }
  /** DNS is failing now: try again later. */
  | { readonly kind: 'temporary'; readonly error: string };

/** The MX lookup, replaceable in tests. */
export type MxResolver = (domain: string) => Promise<Array<{ exchange: string; priority: number }>>;

/** Parses `queue.routes` entries `domain=host:port` (or `domain=host`, port 25). */
export function parseRoutes(entries: readonly string[], defaultPort: number): Map<string, Hop> {
  const out = new Map<string, Hop>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const domain = entry.slice(0, eq).trim().toLowerCase();
    const target = entry.slice(eq + 1).trim();
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(target);
    if (!m) continue;
    out.set(domain, { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort });
  }
  return out;
}

/**
 * Where mail for `domain` goes (RFC 5321 §5.1): a static route when one is configured, else the
 * MX hosts by preference (ties shuffled), else the domain itself when it has no MX but exists.
 * A null MX (RFC 7505) or a non-existent domain is a permanent failure.
 */
export async function resolveRoute(
  domain: string,
  options: { routes: ReadonlyMap<string, Hop>; port: number; resolveMx?: MxResolver },
): Promise<RouteResult> {
  const fixed = options.routes.get(domain.toLowerCase()) ?? options.routes.get('*');
  if (fixed) return { kind: 'hops', hops: [fixed] };
  if (domain.startsWith('[') && domain.endsWith(']')) {
    return { kind: 'hops', hops: [{ host: domain.slice(1, -1).replace(/^IPv6:/i, ''), port: options.port }] };
  }
  const resolveMx = options.resolveMx ?? ((d: string) => dns.resolveMx(d));
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await resolveMx(domain);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return { kind: 'hops', hops: [{ host: domain, port: options.port }] };
    if (code === 'ENOTFOUND') return { kind: 'permanent', error: `domain ${domain} does not exist`, status: '5.1.2' };
    return { kind: 'temporary', error: `MX lookup for ${domain} failed (${code ?? 'error'})` };
  }
  if (records.length === 0) return { kind: 'hops', hops: [{ host: domain, port: options.port }] };
  if (records.some((r) => r.exchange === '' || r.exchange === '.')) {
    return { kind: 'permanent', error: `domain ${domain} does not accept mail (null MX)`, status: '5.1.10' };
  }
  const sorted = records.map((r) => ({ r, k: Math.random() })).sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return { kind: 'hops', hops: sorted.map(({ r }) => ({ host: r.exchange.replace(/\.$/, ''), port: options.port })) };
}
