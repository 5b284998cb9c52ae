import { type DnsLookups, dnsLookups } from './dns.ts';
import { FetchError, type HttpOptions, httpsGet, jsonObject } from './http.ts';
import { type IssuerMetadata, issuerMetadata } from './metadata.ts';
import {
  type FoundConfig,
  type FoundService,
  paccDigestMatches,
  readAutoconfig,
  readConfigDocument,
  readPacc,
  SRV_LABELS,
} from './readers.ts';
import { RELS } from './rels.ts';
import { EMBEDDED_HTTPS_PORT, isThisMachine } from './local.ts';
import { linkHref, webfinger } from './webfinger.ts';

/**
 * The whole chain a client runs from an email address, in order of trust (docs/discovery.md):
 * WebFinger → issuer metadata → the account configuration document, then PACC (only with a
 * matching DNS digest), Thunderbird autoconfig and RFC 6186 SRV as fallbacks. Every step is
 * recorded with its URL and outcome so a person can see what was learned from where.
 */

export { RELS };

export type SourceName = 'webfinger' | 'issuer-metadata' | 'config-document' | 'pacc' | 'autoconfig' | 'srv';

export interface Step {
  readonly source: SourceName;
  readonly target: string;
  readonly outcome: 'ok' | 'failed' | 'skipped';
  readonly detail: string;
}

export interface DiscoveredService extends FoundService {
  readonly source: SourceName;
}

export interface Discovery {
  readonly address: string;
  readonly domain: string;
  readonly issuer?: {
    readonly issuer: string;
    readonly source: SourceName;
    readonly metadataUrl?: string;
    readonly metadata?: IssuerMetadata;
  };
  readonly scopes?: readonly string[];
  readonly resources?: readonly string[];
  readonly services: readonly DiscoveredService[];
  readonly password?: boolean;
  readonly certificateHost?: string;
  readonly appPasswordUrl?: string;
  readonly freeBusyUrl?: string;
  readonly jmapSession?: string;
  readonly oneCredential?: boolean;
  /** Where the services came from (the most trusted source that answered). */
  readonly servicesFrom?: SourceName;
  readonly steps: readonly Step[];
}

export interface DiscoverOptions extends HttpOptions {
  /** Run every fallback even when a more trusted source already answered (diagnostics). */
  readonly all?: boolean;
  /** DNS lookups (SRV, TXT); default: `resolver` servers or the system resolver. */
  readonly dns?: DnsLookups;
  /**
   * The issuer the user named (`fingerpost login --issuer`): when the domain's own WebFinger does
   * not answer, the issuer's origin is asked for the account (the server the user chose to trust).
   */
  readonly issuerHint?: string;
}

function issuerOrigin(issuer: string): { host: string; port?: number } | undefined {
  try {
    const u = new URL(issuer);
    if (u.protocol !== 'https:') return undefined;
    return { host: u.hostname, ...(u.port ? { port: Number(u.port) } : {}) };
  } catch {
    return undefined;
  }
}

function sameOrigin(url: string, origin: { host: string; port?: number }): boolean {
  const u = new URL(url);
  return u.hostname === origin.host && Number(u.port || 443) === (origin.port ?? 443);
}

/** Runs the chain for `address` (already validated as local@domain). */
export async function discover(address: string, options: DiscoverOptions = {}): Promise<Discovery> {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const dns = options.dns ?? dnsLookups(options.resolver);
  const steps: Step[] = [];
  const step = (source: SourceName, target: string, outcome: Step['outcome'], detail: string) =>
    steps.push({ source, target, outcome, detail });
  let found: { config: FoundConfig; from: SourceName } | undefined;
  let issuer: Discovery['issuer'];
  const extra: { freeBusyUrl?: string; jmapSession?: string } = {};

  // 1. WebFinger: the domain on 443 (RFC 7033 §4); this machine's embedded default port when
  // nothing listens there (src/discovery/client/local.ts); the origin of the issuer the user named.
  const rels = Object.values(RELS);
  let wf = await webfinger(address, rels, options);
  if (!wf.ok && wf.code === 'ECONNREFUSED' && !options.connectTo?.has(domain) && (await isThisMachine(domain))) {
    step('webfinger', wf.url, 'failed', `${wf.reason}; ${domain} is this machine: trying the embedded default port ${EMBEDDED_HTTPS_PORT}`);
    wf = await webfinger(address, rels, options, { host: domain, port: EMBEDDED_HTTPS_PORT });
  }
  const hinted = options.issuerHint ? issuerOrigin(options.issuerHint) : undefined;
  if (!wf.ok && hinted && !sameOrigin(wf.url, hinted)) {
    step('webfinger', wf.url, 'failed', `${wf.reason}; asking the origin of the issuer given instead`);
    wf = await webfinger(address, rels, options, hinted);
  }
  let configUrl: string | undefined;
  if (wf.ok) {
    const iss = linkHref(wf.jrd, RELS.issuer);
    if (iss) issuer = { issuer: iss, source: 'webfinger' };
    configUrl = linkHref(wf.jrd, RELS.mailConfig);
    extra.freeBusyUrl = linkHref(wf.jrd, RELS.freebusy);
    extra.jmapSession = linkHref(wf.jrd, RELS.jmap);
    step('webfinger', wf.url, 'ok', `${wf.jrd.links.length} links${iss ? `, issuer ${iss}` : ', no issuer'}`);
  } else {
    step('webfinger', wf.url, 'failed', wf.reason);
  }

  // 2. The account configuration document
  if (configUrl) {
    try {
      const res = await httpsGet(configUrl, options);
      const doc = res.status === 200 ? jsonObject(res.body) : undefined;
      const config = doc && readConfigDocument(doc);
      if (config && doc.domain === domain) {
        found = { config, from: 'config-document' };
        step('config-document', res.url, 'ok', `${config.services.length} services`);
      } else {
        step(
          'config-document',
          configUrl,
          'failed',
          res.status === 200 ? 'not a configuration document for this domain' : `HTTP ${res.status}`,
        );
      }
    } catch (err) {
      step('config-document', configUrl, 'failed', (err as Error).message);
    }
  } else {
    step('config-document', '(WebFinger link)', 'skipped', 'no configuration document link');
  }

  // 3. PACC, accepted only when the DNS digest matches the exact bytes
  const paccUrl = `https://ua-auto-config.${domain}/.well-known/user-agent-configuration.json`;
  if (found && !options.all) step('pacc', paccUrl, 'skipped', `already configured from ${found.from}`);
  else {
    try {
      const res = await httpsGet(paccUrl, options);
      const doc = res.status === 200 ? jsonObject(res.body) : undefined;
      const pacc = doc && readPacc(doc);
      if (!pacc) step('pacc', paccUrl, 'failed', res.status === 200 ? 'not a PACC document' : `HTTP ${res.status}`);
      else {
        const txt = await dns.txt(`_ua-auto-config.${domain}`);
        if (!paccDigestMatches(res.body, txt)) {
          step(
            'pacc',
            paccUrl,
            'failed',
            txt.length ? 'the DNS digest does not match the document: not used' : `no TXT record at _ua-auto-config.${domain}: not used`,
          );
        } else {
          step('pacc', paccUrl, 'ok', `${pacc.services.length} services, digest verified in DNS`);
          found ??= { config: pacc, from: 'pacc' };
        }
      }
    } catch (err) {
      step('pacc', paccUrl, 'failed', err instanceof FetchError ? err.message : String(err));
    }
  }

  // 4. Thunderbird autoconfig (ISP-hosted, then well-known on the domain)
  const autoconfigUrls = [
    `https://autoconfig.${domain}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`,
    `https://${domain}/.well-known/autoconfig/mail/config-v1.1.xml`,
  ];
  for (const url of autoconfigUrls) {
    if (found && !options.all) {
      step('autoconfig', url, 'skipped', `already configured from ${found.from}`);
      continue;
    }
    try {
      const res = await httpsGet(url, options, 'text/xml, application/xml');
      const config = res.status === 200 ? readAutoconfig(res.body.toString('utf8'), address) : undefined;
      if (!config) {
        step('autoconfig', url, 'failed', res.status === 200 ? 'not a usable config-v1.1.xml' : `HTTP ${res.status}`);
        continue;
      }
      step('autoconfig', url, 'ok', `${config.services.length} services`);
      found ??= { config, from: 'autoconfig' };
      break;
    } catch (err) {
      step('autoconfig', url, 'failed', (err as Error).message);
    }
  }

  // 5. RFC 6186 SRV (targets outside the domain need the user's confirmation: RFC 8314 §5.1)
  if (found && !options.all) step('srv', `_imaps._tcp.${domain} …`, 'skipped', `already configured from ${found.from}`);
  else {
    const services: FoundService[] = [];
    for (const { label, protocol, tls } of SRV_LABELS) {
      try {
        const records = (await dns.srv(`${label}.${domain}`)).sort((a, b) => a.priority - b.priority || b.weight - a.weight);
        const r = records[0];
        if (!r || r.name === '.' || r.name === '' || r.port === 0) continue;
        if (protocol === 'jmap')
          services.push({
            protocol,
            url: `https://${r.name}${r.port === 443 ? '' : `:${r.port}`}/.well-known/jmap`,
            auth: [],
            oauth: false,
            password: false,
          });
        else services.push({ protocol, host: r.name, port: r.port, tls, auth: [], oauth: false, password: false });
      } catch (err) {
        step('srv', `${label}.${domain}`, 'failed', (err as Error).message);
      }
    }
    const outside = services.filter((s) => s.host && s.host !== domain && !s.host.endsWith(`.${domain}`));
    step(
      'srv',
      `_imaps._tcp.${domain} …`,
      services.length ? 'ok' : 'failed',
      services.length
        ? `${services.length} services${outside.length ? `; ${outside.map((s) => s.host).join(', ')} is outside ${domain}: confirm it before use` : ''}`
        : 'no SRV records',
    );
    if (services.length) found ??= { config: { services }, from: 'srv' };
  }

  // Issuer from a configuration source when WebFinger named none
  if (!issuer && found?.config.issuer) issuer = { issuer: found.config.issuer, source: found.from };
  if (issuer) {
    const meta = await issuerMetadata(issuer.issuer, options);
    if (meta.ok) {
      issuer = { ...issuer, metadataUrl: meta.url, metadata: meta.metadata };
      steps.push({ source: 'issuer-metadata', target: meta.url, outcome: 'ok', detail: `issuer ${issuer.issuer} confirmed` });
    } else {
      for (const t of meta.tried) steps.push({ source: 'issuer-metadata', target: t.url, outcome: 'failed', detail: t.reason });
    }
  }

  const c = found?.config;
  return {
    address,
    domain,
    ...(issuer ? { issuer } : {}),
    ...(c?.scopes?.length ? { scopes: c.scopes } : {}),
    ...(c?.resources?.length ? { resources: c.resources } : {}),
    services: (c?.services ?? []).map((s) => ({ ...s, source: found!.from })),
    ...(c?.password !== undefined ? { password: c.password } : {}),
    ...(c?.certificateHost ? { certificateHost: c.certificateHost } : {}),
    ...(c?.appPasswordUrl ? { appPasswordUrl: c.appPasswordUrl } : {}),
    ...(c?.oneCredential !== undefined ? { oneCredential: c.oneCredential } : {}),
    ...((c?.freeBusyUrl ?? extra.freeBusyUrl) ? { freeBusyUrl: c?.freeBusyUrl ?? extra.freeBusyUrl } : {}),
    ...(extra.jmapSession ? { jmapSession: extra.jmapSession } : {}),
    ...(found ? { servicesFrom: found.from } : {}),
    steps,
  };
}
