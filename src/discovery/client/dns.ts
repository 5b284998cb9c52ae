import dns from 'node:dns';

/**
 * DNS lookups discovery needs (RFC 6186 SRV, PACC TXT, MX), through the system resolver or
 * explicit servers (`ip` or `ip:port`, so tests and `fingerpost doctor --resolver` can point at
 * any server). A missing name is an empty answer, not an error.
 */
export interface DnsLookups {
  srv(name: string): Promise<dns.SrvRecord[]>;
  /** Each record's character-strings concatenated without separator (RFC 7208 §3.3 style). */
  txt(name: string): Promise<string[]>;
  mx(name: string): Promise<dns.MxRecord[]>;
  addresses(name: string): Promise<string[]>;
  cname(name: string): Promise<string[]>;
}

const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN', 'ENOTIMP']);

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (EMPTY.has((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
}

/** Lookups through `servers`, or the system configuration when none are given. */
export function dnsLookups(servers?: readonly string[]): DnsLookups {
  const r = new dns.promises.Resolver({ timeout: 3000, tries: 2 });
  if (servers?.length) r.setServers([...servers]);
  return {
    srv: (name) => orEmpty(r.resolveSrv(name)),
    txt: async (name) => (await orEmpty(r.resolveTxt(name))).map((parts) => parts.join('')),
    mx: async (name) => (await orEmpty(r.resolveMx(name))).sort((a, b) => a.priority - b.priority),
    addresses: async (name) => [...(await orEmpty(r.resolve4(name))), ...(await orEmpty(r.resolve6(name)))],
    cname: (name) => orEmpty(r.resolveCname(name)),
  };
}
