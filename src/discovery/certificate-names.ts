/**
 * The names a served domain's certificate must cover (docs/dns.md): the domain itself (WebFinger,
 * RFC 7033 §4), and the discovery hosts clients ask by name: `autoconfig.` (Thunderbird
 * autoconfig), `ua-auto-config.` (PACC), `autodiscover.` (Outlook, MS-OXDSCLI §3.1.5) and
 * `mta-sts.` (RFC 8461 §3.2).
 */
export const DISCOVERY_LABELS = ['autoconfig', 'ua-auto-config', 'autodiscover', 'mta-sts'] as const;

/** Every name a certificate for `domain` should cover. */
export function certificateNames(domain: string): string[] {
  return [domain, ...DISCOVERY_LABELS.map((l) => `${l}.${domain}`)];
}

/** The served domains a host name can belong to: itself, and without one discovery label. */
export function candidateDomains(name: string): string[] {
  const out = [name];
  for (const l of DISCOVERY_LABELS) if (name.startsWith(`${l}.`) && name.length > l.length + 1) out.push(name.slice(l.length + 1));
  return out;
}

/** True when `name` is a served domain or one of its discovery names (`isServed` asks the directory). */
export async function coveredName(name: string, isServed: (domain: string) => Promise<boolean>): Promise<boolean> {
  for (const d of candidateDomains(name)) if (await isServed(d)) return true;
  return false;
}
